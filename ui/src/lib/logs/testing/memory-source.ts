// An in-memory LogSource for the viewer's tests: the same contract as the shell's (rows of the
// filtered view, eviction from the front, search marks and wrapping find), over lines made on
// demand from their position so a million of them cost nothing until drawn.
import type { Filter } from '../../../bindings/Filter';
import type { Level } from '../../../bindings/Level';
import type { Marker } from '../../../bindings/Marker';
import type { Line } from '../../../bindings/Line';
import type { Rows } from '../../../bindings/Rows';
import type { Search } from '../../../bindings/Search';
import type { Span } from '../../../bindings/Span';
import type { Stream } from '../../../bindings/Stream';
import type { LogSource, ViewStats } from '../source';

export interface Seed {
  service: string;
  text: string;
  stream?: Stream;
  level?: Level;
  spans?: Span[];
  json?: boolean;
  marker?: Marker;
}

const ORDER: Level[] = ['unknown', 'trace', 'debug', 'info', 'notice', 'warn', 'error', 'fatal'];
const EPOCH = Date.UTC(2025, 0, 1);

export class MemorySource implements LogSource {
  /** Every setView call, in order. */
  readonly views: { filter: Filter; search: Search | null }[] = [];
  /** Every window call, in order. */
  readonly windows: { start: number; count: number }[] = [];
  exportPath: string | null = '/tmp/berth-logs.txt';
  /** Most rows a report carries in its tail (the shell sends up to 200). */
  tailLimit = 200;
  /** What reports say of the history on disk (null: written, or off). */
  historyStopped: string | null = null;
  /** Most bytes of a line's text a row carries (the shell's 8 KiB). */
  textLimit = 8192;
  /** Positions scanned back for each page of older stored lines (the shell's 50,000). */
  pageSize = 50_000;
  private first = 0;
  /** The oldest position the view reaches: `first`, or older with a history. */
  private reach = 0;
  /** Lines 0 .. first are stored on disk (see `restarted`). */
  private history = false;
  private end: number;
  private dropped = 0;
  private filter: Filter | null = null;
  private pattern: RegExp | null = null;
  /** Store positions of the view's rows; null while the filter selects everything. */
  private rows: number[] | null = null;
  /** While set, setView's answers wait for it, as the shell's can wait behind its reports. */
  answerHeld: Promise<void> | null = null;
  private readonly listeners = new Set<(stats: ViewStats) => void>();
  /** As the shell counts them: views set, this view's reports, rows evicted since it was set. */
  private view = 0;
  private seq = 0;
  private evicted = 0;
  /** Rows appended and not yet reported (reports wait while not live). */
  private fresh = 0;
  private isLive = true;

  constructor(
    private readonly seed: (pos: number) => Seed,
    count: number,
  ) {
    this.end = count;
  }

  /** Line `pos` as a row carries it: its text cut to `textLimit` bytes, matches found in the
   * whole text and marked in what is kept. */
  line(pos: number): Line {
    const s = this.seed(pos);
    const { text, omitted } = cut(s.text, this.textLimit);
    const matches: [number, number][] = [];
    if (this.pattern) {
      this.pattern.lastIndex = 0;
      for (const m of s.text.matchAll(this.pattern)) {
        if (m[0].length > 0 && m.index < text.length)
          matches.push([m.index, Math.min(text.length, m.index + m[0].length)]);
      }
    }
    return {
      pos,
      time: new Date(EPOCH + pos * 1000).toISOString().replace('Z', '000000Z'),
      service: s.service,
      // Berth's own lines have no container.
      container: s.stream === 'berth' ? '' : `shop-${s.service}-1`,
      stream: s.stream ?? 'stdout',
      level: s.level ?? 'unknown',
      text,
      omitted,
      partial: false,
      spans: s.spans ?? [],
      json: s.json ?? false,
      matches,
      marker: s.marker ?? null,
    };
  }

  /** As after an app restart: lines `0 .. stored` are only in the history on disk. */
  restarted(stored: number): void {
    [this.first, this.reach, this.history] = [stored, stored, true];
  }

  /** Adds `count` lines to the store, as containers writing would. */
  append(count: number): void {
    const [from, before] = [this.end, this.length];
    this.end += count;
    if (this.rows) for (let p = from; p < this.end; p++) if (this.passes(p)) this.rows.push(p);
    this.fresh += this.length - before;
    this.report();
  }

  /** Drops the `count` oldest lines, as the bounded buffer does. */
  evict(count: number): void {
    this.first += count;
    this.reach = this.first;
    this.dropped += count;
    let evicted = count;
    if (this.rows) {
      const keep = this.rows.findIndex((p) => p >= this.first);
      evicted = keep < 0 ? this.rows.length : keep;
      this.rows.splice(0, evicted);
    }
    this.evicted += evicted;
    this.report();
  }

  async setView(filter: Filter, search: Search | null): Promise<ViewStats> {
    this.views.push({ filter, search });
    let pattern: RegExp | null = null;
    if (search) {
      try {
        pattern =
          search.mode === 'regex'
            ? new RegExp(search.pattern, 'g')
            : new RegExp(
                search.pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
                search.mode === 'case_insensitive' ? 'gi' : 'g',
              );
      } catch (e) {
        throw `invalid regex: ${(e as Error).message}`;
      }
    }
    this.filter = filter;
    this.pattern = pattern;
    const everything =
      filter.services.length === 0 && filter.stream === null && filter.min_level === null;
    this.rows = everything ? null : [];
    this.reach = this.first;
    if (this.rows)
      for (let p = this.first; p < this.end; p++) if (this.passes(p)) this.rows.push(p);
    this.view++;
    [this.seq, this.evicted, this.fresh] = [0, 0, 0];
    const stats = this.stats();
    if (this.answerHeld) await this.answerHeld;
    return stats;
  }

  async window(start: number, count: number, evicted: number): Promise<Rows> {
    this.windows.push({ start, count });
    const behind = this.evicted - evicted;
    const ours = (row: number) => Math.min(Math.max(0, row - behind), this.length);
    return { start: ours(start) + behind, lines: this.rowsOf(ours(start), ours(start + count)) };
  }

  async lineText(row: number, evicted: number): Promise<string | null> {
    const ours = row - (this.evicted - evicted);
    return ours >= 0 && ours < this.length ? this.seed(this.posAt(ours)).text : null;
  }

  async find(
    from: number,
    forward: boolean,
    evicted: number,
    length: number,
  ): Promise<number | null> {
    // With a history, the stored matches older than the view count too: rows are prepended
    // down to the one found.
    if (this.history) {
      const behind = this.evicted - evicted;
      const known = Math.min(this.length, length - behind);
      const at = from - behind;
      const atPos = at >= 0 && at < known ? this.posAt(at) : null;
      const targets: number[] = [];
      for (let p = 0; known > 0 && p <= this.posAt(known - 1); p++)
        if (this.passes(p) && this.matches(p)) targets.push(p);
      if (targets.length === 0) return null;
      const next =
        atPos === null
          ? undefined
          : forward
            ? targets.find((p) => p > atPos)
            : [...targets].reverse().find((p) => p < atPos);
      const target = next ?? (forward ? targets[0] : targets[targets.length - 1]);
      while (this.reach > target) this.prepend();
      return this.rowOf(target) + (this.evicted - evicted);
    }
    return this.nearest(from, forward, evicted, length, (pos) => this.matches(pos));
  }

  async older(page: boolean): Promise<ViewStats> {
    if (page) this.prepend();
    return this.stats();
  }

  /** Prepends the stored rows of the next page older than the view. */
  private prepend(): void {
    const from = Math.max(0, this.reach - this.pageSize);
    let added = this.reach - from;
    if (this.rows) {
      const older: number[] = [];
      for (let p = from; p < this.reach; p++) if (this.passes(p)) older.push(p);
      this.rows.unshift(...older);
      added = older.length;
    }
    this.reach = from;
    this.evicted -= added;
  }

  private rowOf(pos: number): number {
    return this.rows ? this.rows.indexOf(pos) : pos - this.reach;
  }

  async findMarker(
    from: number,
    forward: boolean,
    evicted: number,
    length: number,
  ): Promise<number | null> {
    return this.nearest(from, forward, evicted, length, (pos) => !!this.seed(pos).marker);
  }

  /** Reports the view with line `pos` to reveal, as a clicked notification has the shell do. */
  reveal(pos: number): void {
    const row = this.rowOf(pos);
    const stats = { ...this.stats(), reveal: row < 0 ? null : row };
    for (const l of this.listeners) l(stats);
  }

  private nearest(
    from: number,
    forward: boolean,
    evicted: number,
    length: number,
    hit: (pos: number) => boolean,
  ): number | null {
    const behind = this.evicted - evicted;
    const n = Math.min(this.length, length - behind);
    for (let step = 1; step <= n; step++) {
      const row = (((forward ? from - behind + step : from - behind - step) % n) + n) % n;
      if (hit(this.posAt(row))) return row + behind;
    }
    return null;
  }

  subscribe(listener: (stats: ViewStats) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands `stats` to the listeners again, as a report arriving late would be. */
  redeliver(stats: ViewStats): void {
    for (const l of this.listeners) l(stats);
  }

  setLive(on: boolean): void {
    if (on === this.isLive) return;
    this.isLive = on;
    if (on) this.report();
  }

  get live(): boolean {
    return this.isLive;
  }

  async exportView(): Promise<string | null> {
    return this.exportPath;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  get length(): number {
    return this.rows ? this.rows.length : this.end - this.reach;
  }

  private posAt(row: number): number {
    return this.rows ? this.rows[row] : this.reach + row;
  }

  /** Whether line `pos` has a match of the search anywhere in its text. */
  private matches(pos: number): boolean {
    if (!this.pattern) return false;
    this.pattern.lastIndex = 0;
    return [...this.seed(pos).text.matchAll(this.pattern)].some((m) => m[0].length > 0);
  }

  private passes(pos: number): boolean {
    const f = this.filter;
    if (!f) return true;
    const s = this.seed(pos);
    if (f.services.length > 0 && !f.services.includes(s.service)) return false;
    if (f.stream !== null && (s.stream ?? 'stdout') !== f.stream) return false;
    const level = ORDER.indexOf(s.level ?? 'unknown');
    return f.min_level === null || (level > 0 && level >= ORDER.indexOf(f.min_level));
  }

  /** Rows `from .. to` of the view, as this source numbers them. */
  private rowsOf(from: number, to: number): Line[] {
    const lines: Line[] = [];
    for (let r = from; r < to; r++) lines.push(this.line(this.posAt(r)));
    return lines;
  }

  private stats(): ViewStats {
    let matches = 0;
    if (this.pattern) {
      for (let r = 0; r < this.length; r++) if (this.matches(this.posAt(r))) matches++;
      // The shell counts the history's matches too.
      for (let p = 0; this.history && p < this.reach; p++)
        if (this.matches(p) && this.passes(p)) matches++;
    }
    const fresh = Math.min(this.fresh, this.tailLimit, this.length);
    const tail = this.rowsOf(this.length - fresh, this.length);
    this.fresh = 0;
    this.seq++;
    const { view, seq, evicted } = this;
    const dropped = this.history ? 0 : this.dropped;
    return {
      view,
      seq,
      length: this.length,
      matches,
      evicted,
      dropped,
      tail,
      reveal: null,
      history_stopped: this.historyStopped,
      older: this.history && this.reach > 0,
      history_start: this.history && this.reach === 0,
    };
  }

  private report(): void {
    if (!this.isLive) return;
    const stats = this.stats();
    for (const l of this.listeners) l(stats);
  }
}

/** The start of `text` of at most `limit` UTF-8 bytes, cut at a character, as the shell cuts. */
function cut(text: string, limit: number): { text: string; omitted: number } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= limit) return { text, omitted: 0 };
  let end = limit;
  while (end > limit - 3 && (bytes[end] & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(bytes.subarray(0, end)), omitted: bytes.length - end };
}
