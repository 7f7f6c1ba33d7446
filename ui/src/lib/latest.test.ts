import { describe, expect, it } from 'vitest';
import { latestWins } from './latest';

describe('latestWins', () => {
  it('keeps only the answer to the latest request', () => {
    const ask = latestWins();
    const first = ask();
    expect(first()).toBe(true);
    const second = ask();
    expect(first()).toBe(false);
    expect(second()).toBe(true);
  });

  it('keeps each counter to its own panel', () => {
    const files = latestWins();
    const inspect = latestWins();
    const listing = files();
    inspect();
    expect(listing()).toBe(true);
  });
});
