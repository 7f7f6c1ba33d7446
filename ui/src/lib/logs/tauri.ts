// The shell's implementation of LogSource: the view lives in Rust (src-tauri/src/logview.rs).
import { Channel, invoke } from '@tauri-apps/api/core';
import type { Filter } from '../../bindings/Filter';
import type { Line } from '../../bindings/Line';
import type { Search } from '../../bindings/Search';
import type { LogSource, ViewStats } from './source';

export function tauriLogSource(): LogSource {
  const listeners = new Set<(stats: ViewStats) => void>();
  /** The channel of the current watch: a report still on its way through an older one is
   * dropped, as the catch-up report of the new watch already counts it. */
  let feed: Channel<ViewStats> | null = null;
  return {
    setView: (filter: Filter, search: Search | null) =>
      invoke<ViewStats>('logs_set_view', { filter, search }),
    window: (start, count) => invoke<Line[]>('logs_window', { start, count }),
    find: (from, forward) => invoke<number | null>('logs_find', { from, forward }),
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1) {
        const mine = new Channel<ViewStats>();
        mine.onmessage = (stats) => {
          if (feed === mine) listeners.forEach((l) => l(stats));
        };
        feed = mine;
        invoke('logs_watch', { onStats: mine });
      }
      return () => {
        if (listeners.delete(listener) && listeners.size === 0) {
          feed = null;
          invoke('logs_unwatch');
        }
      };
    },
    exportView: () => invoke<string | null>('logs_export'),
  };
}
