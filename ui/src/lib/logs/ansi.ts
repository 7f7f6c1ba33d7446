// A line's text cut into runs that each draw one way: the SGR styles Rust parsed (`Line.spans`)
// combined with the search matches (`Line.matches`). Both are UTF-16 ranges of `Line.text`.
// The 16 base colours become classes (themed in logs.css); 256-palette and RGB colours become
// CSS values the component sets through `style:` directives (CSSOM, which the CSP allows).
import type { Color } from '../../bindings/Color';
import type { Span } from '../../bindings/Span';
import type { Style } from '../../bindings/Style';

export interface Segment {
  text: string;
  /** Space-separated class names (may be empty). */
  classes: string;
  /** CSS colour for 256-palette or RGB foregrounds, else null (class or default). */
  color: string | null;
  /** CSS colour for 256-palette or RGB backgrounds, else null. */
  background: string | null;
}

/** A resolved colour: a themed class suffix (`3`, or `fg`/`bg` for the default colours) or CSS. */
type Paint = { cls: string } | { css: string };

const CUBE = [0, 95, 135, 175, 215, 255];

/** The CSS colour of xterm's 256-colour palette entry `n` (16–255). */
export function paletteRgb(n: number): string {
  if (n >= 232) {
    const v = 8 + 10 * (n - 232);
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  return `rgb(${CUBE[Math.floor(i / 36)]}, ${CUBE[Math.floor(i / 6) % 6]}, ${CUBE[i % 6]})`;
}

function paint(color: Color | null): Paint | null {
  if (color === null) return null;
  if ('palette' in color) {
    const n = color.palette;
    return n < 16 ? { cls: String(n) } : { css: paletteRgb(n) };
  }
  const [r, g, b] = color.rgb;
  return { css: `rgb(${r}, ${g}, ${b})` };
}

/** Classes and inline colours for one SGR style (plus the search-match highlight). */
export function look(style: Style | null, match: boolean): Omit<Segment, 'text'> {
  const classes: string[] = [];
  let color: string | null = null;
  let background: string | null = null;
  if (style) {
    let fg = paint(style.fg);
    let bg = paint(style.bg);
    if (style.inverse) {
      // Inverse swaps the colours; a missing one means the theme's default fg/bg.
      [fg, bg] = [bg ?? { cls: 'bg' }, fg ?? { cls: 'fg' }];
    }
    if (fg) {
      if ('cls' in fg) classes.push(`fg-${fg.cls}`);
      else color = fg.css;
    }
    if (bg) {
      if ('cls' in bg) classes.push(`bg-${bg.cls}`);
      else background = bg.css;
    }
    if (style.bold) classes.push('b');
    if (style.dim) classes.push('d');
    if (style.italic) classes.push('i');
    if (style.underline) classes.push('u');
    if (style.strike) classes.push('s');
  }
  if (match) classes.push('match');
  return { classes: classes.join(' '), color, background };
}

/** Cuts `text` at every span and match boundary; each run gets its style and match flag. */
export function segments(text: string, spans: Span[], matches: [number, number][]): Segment[] {
  const len = text.length;
  const clamp = (n: number) => Math.max(0, Math.min(len, n));
  const styled = spans
    .map((s) => ({ start: clamp(s.start), end: clamp(s.end), style: s.style }))
    .filter((s) => s.start < s.end)
    .sort((a, b) => a.start - b.start);
  const found = matches
    .map(([start, end]) => ({ start: clamp(start), end: clamp(end) }))
    .filter((m) => m.start < m.end)
    .sort((a, b) => a.start - b.start);

  const cuts = new Set<number>([0, len]);
  for (const r of [...styled, ...found]) {
    cuts.add(r.start);
    cuts.add(r.end);
  }
  const points = [...cuts].sort((a, b) => a - b);

  const out: Segment[] = [];
  let si = 0;
  let mi = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    while (si < styled.length && styled[si].end <= a) si++;
    while (mi < found.length && found[mi].end <= a) mi++;
    const span = si < styled.length && styled[si].start <= a ? styled[si] : null;
    const match = mi < found.length && found[mi].start <= a;
    out.push({ text: inert(text.slice(a, b)), ...look(span?.style ?? null, match) });
  }
  return out;
}

// C0 controls (tab aside), DEL, C1 controls, bidi overrides/isolates and line separators: shown
// as visible stand-ins so a hostile line can neither break the fixed row height nor reorder
// what is drawn. Every replacement is one UTF-16 unit, so match and span offsets stay valid.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function inert(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code); // ␀ … ␟
    if (code === 0x7f) return '\u2421'; // ␡
    if (code === 0x2028 || code === 0x2029) return '\u2424'; // ␤
    return '\ufffd';
  });
}
