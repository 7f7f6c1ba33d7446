// What a watched service's row says, from the watch state the shell sends.
import type { ServiceRow } from '../bindings/ServiceRow';
import type { WatchState } from '../bindings/WatchState';
import { uptime } from './stack';

const files = (n: number) => `${n} ${n === 1 ? 'file' : 'files'}`;

/** "watching", "synced 3 files 2s ago", "rebuilding", "sync failed: …": the row's watch
 * state, its times read on the table's clock. */
export function watchText(state: WatchState, now: number): string {
  switch (state.state) {
    case 'watching':
      return 'watching';
    case 'syncing':
      return `syncing ${files(state.files)}`;
    case 'synced':
      return `synced ${files(state.files)} ${uptime(state.at, now)} ago`;
    case 'rebuilding':
      return 'rebuilding';
    case 'rebuilt':
      return `rebuilt ${uptime(state.at, now)} ago`;
    case 'restarting':
      return 'restarting';
    case 'restarted':
      return `restarted ${uptime(state.at, now)} ago`;
    case 'failed':
      return `${state.what} failed: ${state.message}`;
  }
}

/** When the row's watch state happened, for the clock that redraws it; '' when it has no time. */
export function watchTime(row: ServiceRow): string {
  const w = row.watch;
  return w && 'at' in w ? w.at : '';
}

/** The header's Watch: on while any service that can be watched is. */
export function watchingAny(rows: readonly ServiceRow[]): boolean {
  return rows.some((r) => r.watchable && r.watch !== null);
}
