import { describe, expect, it } from 'vitest';
import { Geometry, MAX_SCROLL_HEIGHT, scrollRange } from './geometry';

describe('Geometry', () => {
  const flat = new Geometry(20, 1000, []);
  const tall = new Geometry(20, 1000, [
    { row: 10, pos: 110, extra: 100 },
    { row: 20, pos: 120, extra: 40 },
  ]);

  it('places fixed-height rows by arithmetic', () => {
    expect(flat.height).toBe(20_000);
    expect(flat.offsetOf(7)).toBe(140);
    expect(flat.rowAt(0)).toBe(0);
    expect(flat.rowAt(139)).toBe(6);
    expect(flat.rowAt(140)).toBe(7);
    expect(flat.rowAt(1e9)).toBe(999);
    expect(flat.rowAt(-5)).toBe(0);
  });

  it('adds the extra height of expanded rows to the rows after them', () => {
    expect(tall.height).toBe(20_140);
    expect(tall.offsetOf(10)).toBe(200);
    expect(tall.offsetOf(11)).toBe(320);
    expect(tall.offsetOf(21)).toBe(420 + 100 + 40);
    expect(tall.heightOf(10)).toBe(120);
    expect(tall.heightOf(11)).toBe(20);
  });

  it('finds the row under an offset, inside and after expanded rows', () => {
    expect(tall.rowAt(199)).toBe(9);
    expect(tall.rowAt(200)).toBe(10);
    expect(tall.rowAt(319)).toBe(10);
    expect(tall.rowAt(320)).toBe(11);
    expect(tall.rowAt(tall.offsetOf(20) + 59)).toBe(20);
    expect(tall.rowAt(tall.offsetOf(21))).toBe(21);
    expect(tall.rowAt(tall.offsetOf(500) + 5)).toBe(500);
  });

  it('draws the viewport plus overscan, within the rows there are', () => {
    expect(flat.visible(2000, 600, 8)).toEqual({ first: 92, last: 137 });
    expect(flat.visible(0, 600, 8)).toEqual({ first: 0, last: 37 });
    expect(flat.visible(19_400, 600, 8)).toEqual({ first: 962, last: 999 });
    expect(new Geometry(20, 0, []).visible(0, 600, 8)).toBeNull();
  });
});

describe('scrollRange', () => {
  it('is the content itself while a browser can lay it out', () => {
    expect(scrollRange(20_000, 600)).toEqual({ height: 20_000, ratio: 1 });
  });

  it('scales a taller content so both ends stay reachable', () => {
    const r = scrollRange(20_000_000, 600);
    expect(r.height).toBe(MAX_SCROLL_HEIGHT);
    // The last scroll position shows the last viewport of content.
    expect((r.height - 600) * r.ratio).toBeCloseTo(20_000_000 - 600, 3);
  });
});
