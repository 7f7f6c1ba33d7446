// The log viewer's contract with the shell. The lines live in Rust (the project's log hub); the
// viewer only ever holds the rows it draws. A "view" is the buffered lines that pass the current
// filter, addressed by row: 0 is the oldest line it holds. With a history on disk, older stored
// lines are prepended a page at a time (`older`); `find` may land in one, prepending its rows.
import type { Filter } from '../../bindings/Filter';
import type { Rows } from '../../bindings/Rows';
import type { Search } from '../../bindings/Search';
import type { ViewStats } from '../../bindings/ViewStats';

export type { ViewStats };

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
   * among the caller's `length` rows and the stored lines older than the view: a row whose
   * report has not reached it yet is never the answer. Null when none of them matches. Rows are
   * numbered as in `window`: below 0 when the match's rows were prepended (see `older`). */
  find(from: number, forward: boolean, evicted: number, length: number): Promise<number | null>;
  /** The nearest lifecycle marker row, as `find` finds the nearest match. */
  findMarker(from: number, forward: boolean, evicted: number, length: number): Promise<number | null>;
  /** Prepends the next page of older stored lines to the view (`page`; none without a history
   * or when none are left) and resolves with the view's report, whose `evicted` went down by
   * the rows added. `older(false)` only reports: after a find landed in rows it prepended. */
  older(page: boolean): Promise<ViewStats>;
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
