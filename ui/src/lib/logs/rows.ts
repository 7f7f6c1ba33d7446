// The rows the viewer holds: one contiguous window of the view, fetched from the source. While
// following, each batch of new lines only asks for the rows past the held ones, and rows already
// held keep their Line objects so the rows on screen are not redrawn.
import type { Line } from '../../bindings/Line';

export interface Held {
  /** The view these rows belong to (bumped by every setView). */
  gen: number;
  /** Row index of `lines[0]`. */
  start: number;
  lines: Line[];
}

export interface RowRange {
  first: number;
  last: number;
}

/** Whether `held` has every row of `want` (inclusive) for view `gen`. */
export function covers(held: Held | null, gen: number, want: RowRange): boolean {
  return (
    held !== null &&
    held.gen === gen &&
    held.start <= want.first &&
    held.start + held.lines.length > want.last
  );
}

/** The window to ask for: `want` plus `spare` rows each side within the view's `length`, less
 * the leading rows already held (the usual case while following: only the new lines). The
 * count is 0 when nothing is missing. */
export function plan(
  held: Held | null,
  gen: number,
  want: RowRange,
  spare: number,
  length: number,
): { start: number; count: number } {
  let start = Math.max(0, want.first - spare);
  const end = Math.min(length, want.last + spare + 1);
  if (held && held.gen === gen) {
    const heldEnd = held.start + held.lines.length;
    if (held.start <= start && heldEnd > start) start = heldEnd;
  }
  return { start, count: Math.max(0, end - start) };
}

/** The rows after `gone` rows fell off the front of the view. */
export function rebase(held: Held, gone: number): Held {
  const start = held.start - gone;
  return start >= 0 ? { ...held, start } : { ...held, start: 0, lines: held.lines.slice(-start) };
}

/** `incoming` joined to `held` when both are of the same view and touch, keeping held Line
 * objects, then cut to rows `keep.first ..= keep.last` so memory stays bounded. */
export function merge(held: Held | null, incoming: Held, keep: RowRange): Held {
  let out = incoming;
  if (held && held.gen === incoming.gen) {
    const heldEnd = held.start + held.lines.length;
    const inEnd = incoming.start + incoming.lines.length;
    if (incoming.start <= heldEnd && held.start <= inEnd) {
      const start = Math.min(held.start, incoming.start);
      const end = Math.max(heldEnd, inEnd);
      const lines: Line[] = [];
      for (let r = start; r < end; r++) {
        const mine = r >= held.start && r < heldEnd ? held.lines[r - held.start] : undefined;
        lines.push(mine ?? incoming.lines[r - incoming.start]);
      }
      out = { gen: incoming.gen, start, lines };
    }
  }
  const from = Math.max(out.start, keep.first);
  const to = Math.min(out.start + out.lines.length, keep.last + 1);
  if (from === out.start && to === out.start + out.lines.length) return out;
  return { gen: out.gen, start: from, lines: out.lines.slice(from - out.start, Math.max(from, to) - out.start) };
}
