// The shell's implementation of LogSource: the view lives in Rust (src-tauri/src/logview.rs).
import { Channel, invoke } from '@tauri-apps/api/core';
import type { Filter } from '../../bindings/Filter';
import type { Line } from '../../bindings/Line';
import type { Search } from '../../bindings/Search';
import type { LogSource, ViewStats } from './source';

export function tauriLogSource(): LogSource {
  const listeners = new Set<(stats: ViewStats) => void>();
  const feed = new Channel<ViewStats>();
  feed.onmessage = (stats) => listeners.forEach((l) => l(stats));
  const watching = invoke('logs_watch', { onStats: feed });
  return {
    async setView(filter: Filter, search: Search | null) {
      await watching;
      return invoke<ViewStats>('logs_set_view', { filter, search });
    },
    window: (start, count) => invoke<Line[]>('logs_window', { start, count }),
    find: (from, forward) => invoke<number | null>('logs_find', { from, forward }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exportView: () => invoke<string | null>('logs_export'),
  };
}
