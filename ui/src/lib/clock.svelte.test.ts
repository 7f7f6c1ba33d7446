// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { uptime } from './stack';
import { uptimeClock } from './clock.svelte';

afterEach(() => vi.useRealTimers());

describe('uptimeClock', () => {
  it('keeps the uptimes moving, minute after minute', () => {
    vi.useFakeTimers();
    const started = new Date().toISOString();
    let clock: { readonly now: number } | undefined;
    const stop = $effect.root(() => {
      clock = uptimeClock(() => [started]);
    });
    flushSync();
    const shown = [];
    for (let s = 0; s < 150; s++) {
      vi.advanceTimersByTime(1000);
      flushSync();
      shown.push(uptime(started, clock!.now));
    }
    stop();
    expect(shown[1]).toBe('2s');
    expect(shown[58]).toBe('59s');
    // Past a minute the clock ticks every 30 s, so a minute shows up to 30 s late.
    expect(shown[149]).toMatch(/^2m$/);
    expect(new Set(shown).size).toBeGreaterThan(60);
  });
});
