import { describe, expect, it } from 'vitest';
import { bounds, contains, select, shift } from './selection';

describe('selection', () => {
  it('selects a row, and a range with shift, either way round', () => {
    const one = select(null, 7, false);
    expect(bounds(one)).toEqual([7, 7]);
    expect(bounds(select(one, 3, true))).toEqual([3, 7]);
    expect(bounds(select(one, 12, true))).toEqual([7, 12]);
    expect(bounds(select(select(one, 12, true), 2, false))).toEqual([2, 2]);
    expect(bounds(select(null, 5, true))).toEqual([5, 5]);
  });

  it('knows which rows it holds', () => {
    const s = select(select(null, 4, false), 6, true);
    expect([3, 4, 5, 6, 7].map((r) => contains(s, r))).toEqual([false, true, true, true, false]);
    expect(contains(null, 0)).toBe(false);
  });

  it('follows its lines when rows are evicted, and ends when they are all gone', () => {
    const s = select(select(null, 10, false), 20, true);
    expect(shift(s, 5)).toEqual({ anchor: 5, head: 15 });
    expect(shift(s, 15)).toEqual({ anchor: 0, head: 5 });
    expect(shift({ anchor: 20, head: 10 }, 15)).toEqual({ anchor: 5, head: 0 });
    expect(shift(s, 21)).toBeNull();
    expect(shift(s, 0)).toBe(s);
  });
});
