// The log viewer's contract with the shell. The lines live in Rust (the project's log hub); the
// viewer only ever holds the rows it draws. A "view" is the buffered lines that pass the current
// filter, addressed by row: 0 is the oldest line still buffered.
import type { Filter } from '../../bindings/Filter';
import type { Line } from '../../bindings/Line';
import type { Rows } from '../../bindings/Rows';
import type { Search } from '../../bindings/Search';

export interface ViewStats {
  /** Which view this describes: each setView makes a new one. */
  view: number;
  /** This view's report count. Reports can arrive late or out of order, and every figure in one
   * is absolute, so a viewer skips a report older than one it took and loses nothing. */
  seq: number;
  /** Rows in the view now. */
  length: number;
  /** Rows with at least one match of the current search (0 without a search). */
  matches: number;
  /** Rows that fell off the front since the view was set (the buffer is bounded): every row
   * index the viewer holds shifts down by the growth since the last report it took. */
  evicted: number;
  /** Lines dropped from the front of the buffer since the project was opened, all filters aside:
   * lets the viewer say that older lines are no longer kept. */
  dropped: number;
  /** The newest rows that arrived since the previous report (a bounded number), ending at row
   * `length`, search matches marked: a viewer following the end draws them without asking for a
   * window. Empty from `setView`. */
  tail: Line[];
}

export interface LogSource {
  /** Replaces the view's filter and search and resolves with the new view. Rejects with a
   * readable message for a search it cannot run (an invalid regex). */
  setView(filter: Filter, search: Search | null): Promise<ViewStats>;
  /** Rows `start .. start + count` of the view (fewer at the end), search matches marked. Rows
   * are numbered as the caller numbers them after the `evicted` evictions (ViewStats.evicted)
   * it has taken; rows that left the view since are skipped (Rows.start tells). A long line's
   * text is only its start (8 KiB); `Line.omitted` says how many bytes are left out. */
  window(start: number, count: number, evicted: number): Promise<Rows>;
  /** The whole text of one row (numbered as in `window`), for copying a long line; null when
   * it has left the view. */
  lineText(row: number, evicted: number): Promise<string | null>;
  /** The nearest row after `from` (forward) or before it with a search match, wrapping around,
   * among the caller's `length` rows: a row whose report has not reached it yet is never the
   * answer. Null when none of them matches. Rows are numbered as in `window`. */
  find(from: number, forward: boolean, evicted: number, length: number): Promise<number | null>;
  /** Calls `listener` as lines arrive or fall off (batched, at most every ~25 ms); returns the
   * unsubscribe function. */
  subscribe(listener: (stats: ViewStats) => void): () => void;
  /** Pauses the reports (false) while nobody can see them, or resumes them (true, the start):
   * what changed meanwhile adds up and comes as one report on resuming. */
  setLive(on: boolean): void;
  /** Writes the current view as plain text (like `docker compose logs`) to a file the user
   * picks; resolves with its path, or null when the user cancels. */
  exportView(): Promise<string | null>;
}
