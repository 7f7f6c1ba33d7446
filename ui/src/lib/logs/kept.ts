// A project's log viewer as the user left it, kept while another project is shown: switching
// back to a project kept warm shows its logs with the same filter, search and place.
import type { Level } from '../../bindings/Level';
import type { SearchMode } from '../../bindings/SearchMode';
import type { Stream } from '../../bindings/Stream';

export interface KeptView {
  serviceFilter: string[];
  stream: Stream | null;
  minLevel: Level | null;
  timestamps: boolean;
  pattern: string;
  mode: SearchMode;
  following: boolean;
  /** Where the viewport was (px), and the evictions the viewer had taken then: rows evicted
   * since move it up. */
  top: number;
  evicted: number;
}

/** One viewer's keeping place: the viewer reads it when made and writes it when destroyed. */
export class Keep {
  view: KeptView | null = null;
}

/** The keeping places of the last `size` openings (a project's `StackView.session`), so that
 * those the shell keeps warm find theirs; older ones are forgotten. */
export class KeptViews {
  #keeps = new Map<number, Keep>();
  constructor(private size: number) {}

  for(session: number): Keep {
    const keep = this.#keeps.get(session) ?? new Keep();
    this.#keeps.delete(session);
    this.#keeps.set(session, keep);
    for (const old of this.#keeps.keys()) {
      if (this.#keeps.size <= this.size) break;
      this.#keeps.delete(old);
    }
    return keep;
  }
}
