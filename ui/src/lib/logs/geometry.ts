// Where rows sit in the scrolled content. Collapsed rows share one fixed height, so a row's
// offset is arithmetic; the few expanded rows add their extra height. Content taller than a
// browser can lay out is mapped onto a shorter scroll range (see `scrollRange`).

/** An expanded row: its index in the view, its store position, and its height beyond one row. */
export interface Tall {
  row: number;
  pos: number;
  extra: number;
}

export class Geometry {
  /** `tall` must be sorted by row. */
  constructor(
    readonly rowHeight: number,
    readonly length: number,
    readonly tall: readonly Tall[],
  ) {}

  /** The content's total height in px. */
  get height(): number {
    return this.offsetOf(this.length);
  }

  /** The content offset of the top of `row` (row = length gives the bottom). */
  offsetOf(row: number): number {
    let extra = 0;
    for (const t of this.tall) {
      if (t.row >= row) break;
      extra += t.extra;
    }
    return row * this.rowHeight + extra;
  }

  heightOf(row: number): number {
    const t = this.tall.find((t) => t.row === row);
    return this.rowHeight + (t ? t.extra : 0);
  }

  /** The row under content offset `y`, clamped to the rows there are (0 when there are none). */
  rowAt(y: number): number {
    let extra = 0;
    for (const t of this.tall) {
      const top = t.row * this.rowHeight + extra;
      if (y < top) break;
      if (y < top + this.rowHeight + t.extra) return t.row;
      extra += t.extra;
    }
    const row = Math.floor((y - extra) / this.rowHeight);
    return Math.max(0, Math.min(this.length - 1, row));
  }

  /** Rows to draw for a viewport at content offset `top`, plus `overscan` rows each side;
   * inclusive bounds, or null when the view is empty. */
  visible(top: number, viewport: number, overscan: number): { first: number; last: number } | null {
    if (this.length === 0) return null;
    const first = Math.max(0, this.rowAt(top) - overscan);
    const last = Math.min(this.length - 1, this.rowAt(top + Math.max(viewport, 1) - 1) + overscan);
    return { first, last };
  }
}

/** Browsers cap an element's height (WebKit and Chromium near 33.5M px, Firefox lower): beyond
 * this the scroll range is scaled. */
export const MAX_SCROLL_HEIGHT = 4_000_000;

/** The spacer height to lay out and how many content px one scroll px stands for. The ratio
 * maps both ends exactly: scrollTop 0 is the first row, the last scroll position the last. */
export function scrollRange(
  content: number,
  viewport: number,
  max = MAX_SCROLL_HEIGHT,
): { height: number; ratio: number } {
  if (content <= max || content <= viewport) return { height: content, ratio: 1 };
  return { height: max, ratio: (content - viewport) / Math.max(1, max - viewport) };
}
