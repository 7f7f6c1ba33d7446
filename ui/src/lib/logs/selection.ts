// The selected rows: a range between the row first clicked (anchor) and the row shift-clicked
// (head), by row index in the view.

export interface Selection {
  anchor: number;
  head: number;
}

/** A click on `row`: a new one-row selection, or with `extend` (shift) the range from the
 * anchor to it. */
export function select(current: Selection | null, row: number, extend: boolean): Selection {
  return extend && current ? { anchor: current.anchor, head: row } : { anchor: row, head: row };
}

/** The first and last selected rows, inclusive. */
export function bounds(s: Selection): [number, number] {
  return s.anchor <= s.head ? [s.anchor, s.head] : [s.head, s.anchor];
}

export function contains(s: Selection | null, row: number): boolean {
  if (!s) return false;
  const [a, b] = bounds(s);
  return row >= a && row <= b;
}

/** The selection after `evicted` rows fell off the front: it follows its lines, loses the
 * rows that are gone, and is null when none are left. Negative: rows were prepended. */
export function shift(s: Selection | null, evicted: number): Selection | null {
  if (!s || evicted === 0) return s;
  if (evicted < 0) return { anchor: s.anchor - evicted, head: s.head - evicted };
  const [a, b] = bounds(s);
  if (b < evicted) return null;
  const clamp = (r: number) => Math.max(0, r - evicted);
  return s.anchor <= s.head
    ? { anchor: clamp(a), head: b - evicted }
    : { anchor: b - evicted, head: clamp(a) };
}
