import { describe, expect, it } from 'vitest';
import { MIN_LOGS, MIN_SERVICES, clampHeight } from './split';

describe('clampHeight', () => {
  it('keeps both panes usable wherever the split is dragged', () => {
    // A 480 px window whose services pane starts 41 px down.
    expect(clampHeight(150, 41, 480)).toBe(150);
    expect(clampHeight(10, 41, 480)).toBe(MIN_SERVICES);
    expect(clampHeight(400, 41, 480)).toBe(480 - 41 - MIN_LOGS);
  });

  it('never goes below the services minimum, even in a window too short for both', () => {
    expect(clampHeight(200, 41, 300)).toBe(MIN_SERVICES);
  });
});
