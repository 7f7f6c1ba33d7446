// The shell's implementation of LogSource: the view lives in Rust (src-tauri/src/logview.rs).
import { Channel, invoke } from '@tauri-apps/api/core';
import type { Filter } from '../../bindings/Filter';
import type { Rows } from '../../bindings/Rows';
import type { Search } from '../../bindings/Search';
import type { LogSource, ViewStats } from './source';

export function tauriLogSource(): LogSource {
  const listeners = new Set<(stats: ViewStats) => void>();
  // A channel's messages are numbered by the Rust side that holds it, so each watch needs a new
  // one. Reports still on their way through an older channel are delivered too: the viewer skips
  // those older than one it took (ViewStats.seq).
  const watch = () => {
    const feed = new Channel<ViewStats>();
    feed.onmessage = (stats) => listeners.forEach((l) => l(stats));
    return invoke<void>('logs_watch', { onStats: feed });
  };
  let live = true;
  let watching = watch();
  return {
    async setView(filter: Filter, search: Search | null) {
      await watching;
      return invoke<ViewStats>('logs_set_view', { filter, search });
    },
    window: (start, count, evicted) => invoke<Rows>('logs_window', { start, count, evicted }),
    lineText: (row, evicted) => invoke<string | null>('logs_line_text', { row, evicted }),
    find: (from, forward, evicted, length) =>
      invoke<number | null>('logs_find', { from, forward, evicted, length }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setLive(on) {
      if (on === live) return;
      live = on;
      // In order: a watch overtaken by the unwatch before it would leave nobody watching.
      watching = watching.then(on ? watch : () => invoke<void>('logs_unwatch'));
    },
    exportView: () => invoke<string | null>('logs_export'),
  };
}
