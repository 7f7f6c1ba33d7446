// The shell's implementation of LogSource: the view lives in Rust (src-tauri/src/logview.rs).
import * as ipc from '../ipc';
import type { Filter } from '../../bindings/Filter';
import type { Search } from '../../bindings/Search';
import type { LogSource, ViewStats } from './source';

export function tauriLogSource(): LogSource {
  const listeners = new Set<(stats: ViewStats) => void>();
  // A channel's messages are numbered by the Rust side that holds it, so each watch needs a new
  // one. Reports still on their way through an older channel are delivered too: the viewer skips
  // those older than one it took (ViewStats.seq).
  const watch = () => ipc.logsWatch((stats) => listeners.forEach((l) => l(stats)));
  let live = true;
  let watching = watch();
  return {
    async setView(filter: Filter, search: Search | null) {
      await watching;
      return ipc.logsSetView(filter, search);
    },
    window: ipc.logsWindow,
    lineText: ipc.logsLineText,
    find: ipc.logsFind,
    findMarker: ipc.logsFindMarker,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setLive(on) {
      if (on === live) return;
      live = on;
      // In order: a watch overtaken by the unwatch before it would leave nobody watching.
      watching = watching.then(on ? watch : ipc.logsUnwatch);
    },
    exportView: ipc.logsExport,
    older: ipc.logsOlder,
  };
}
