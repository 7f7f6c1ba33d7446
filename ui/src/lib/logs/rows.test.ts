import { describe, expect, it } from 'vitest';
import type { Line } from '../../bindings/Line';
import { covers, merge, plan, rebase, type Held } from './rows';

const line = (pos: number): Line => ({
  pos,
  time: '',
  service: 'web',
  container: 'shop-web-1',
  stream: 'stdout',
  level: 'unknown',
  text: `line ${pos}`,
  omitted: 0,
  partial: false,
  spans: [],
  json: false,
  matches: [],
  marker: null,
});
const held = (gen: number, start: number, count: number): Held => ({
  gen,
  start,
  lines: Array.from({ length: count }, (_, i) => line(start + i)),
});
const positions = (h: Held) => h.lines.map((l) => l.pos);

describe('covers', () => {
  it('needs every wanted row, of the same view', () => {
    const h = held(1, 10, 20);
    expect(covers(h, 1, { first: 10, last: 29 })).toBe(true);
    expect(covers(h, 1, { first: 9, last: 20 })).toBe(false);
    expect(covers(h, 1, { first: 15, last: 30 })).toBe(false);
    expect(covers(h, 2, { first: 10, last: 20 })).toBe(false);
    expect(covers(null, 1, { first: 0, last: 0 })).toBe(false);
  });
});

describe('plan', () => {
  it('asks for the wanted rows and spare ones each side, within the view', () => {
    expect(plan(null, 1, { first: 100, last: 129 }, 30, 1000)).toEqual({ start: 70, count: 90 });
    expect(plan(null, 1, { first: 0, last: 29 }, 30, 40)).toEqual({ start: 0, count: 40 });
  });

  it('asks only for the rows past those held when the start is held (following)', () => {
    const h = held(1, 940, 60); // rows 940..999
    expect(plan(h, 1, { first: 975, last: 1004 }, 30, 1005)).toEqual({ start: 1000, count: 5 });
    // More new lines than a screen: still only those.
    expect(plan(h, 1, { first: 1012, last: 1049 }, 30, 1050)).toEqual({ start: 1000, count: 50 });
    // Another view: everything again.
    expect(plan(h, 2, { first: 975, last: 1004 }, 30, 1005)).toEqual({ start: 945, count: 60 });
  });
});

describe('rebase', () => {
  it('shifts rows down and drops those evicted', () => {
    expect(rebase(held(1, 10, 5), 4).start).toBe(6);
    const cut = rebase(held(1, 10, 5), 12);
    expect(cut.start).toBe(0);
    expect(positions(cut)).toEqual([12, 13, 14]);
  });
});

describe('merge', () => {
  it('joins touching windows of one view and keeps the Line objects it held', () => {
    const h = held(1, 0, 10);
    const m = merge(h, held(1, 10, 5), { first: 0, last: 100 });
    expect(positions(m)).toEqual([...Array(15).keys()]);
    expect(m.lines[3]).toBe(h.lines[3]);
    const overlap = merge(h, held(1, 5, 10), { first: 0, last: 100 });
    expect(positions(overlap)).toEqual([...Array(15).keys()]);
    expect(overlap.lines[7]).toBe(h.lines[7]);
  });

  it('replaces rows of another view or a distant window', () => {
    const other = held(2, 0, 10);
    expect(merge(held(1, 0, 10), other, { first: 0, last: 100 })).toBe(other);
    const far = held(1, 50, 5);
    expect(merge(held(1, 0, 10), far, { first: 0, last: 100 })).toBe(far);
  });

  it('keeps only the rows around the viewport', () => {
    const m = merge(held(1, 0, 100), held(1, 100, 10), { first: 60, last: 200 });
    expect(m.start).toBe(60);
    expect(positions(m)).toEqual(Array.from({ length: 50 }, (_, i) => 60 + i));
  });
});
