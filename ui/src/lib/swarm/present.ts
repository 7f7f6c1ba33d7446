// How the Swarm view words a service's replicas and its rolling update, from what the shell
// sends (src-tauri/src/swarm.rs). The shell decides nothing here is news; this only draws it.
import type { SwarmService } from '../../bindings/SwarmService';
import type { SwarmUpdate } from '../../bindings/SwarmUpdate';

export interface Replicas {
  /** "2/3", "global 1/1". */
  text: string;
  /** ok: runs what it wants; short: replicas missing; settling: extra ones still stopping;
   * idle: wants none. */
  state: 'ok' | 'short' | 'settling' | 'idle';
  title: string;
}

export function replicas(s: SwarmService): Replicas {
  const counts = `${s.running}/${s.desired}`;
  const text = s.mode === 'global' ? `global ${counts}` : counts;
  if (s.desired === 0 && s.running === 0) {
    const title = s.mode === 'global' ? 'no node is eligible to run it' : 'scaled to 0';
    return { text, state: 'idle', title };
  }
  const of = `${s.running} of ${s.desired} replicas run`;
  if (s.running < s.desired) {
    return { text, state: 'short', title: `${of}: ${s.desired - s.running} missing` };
  }
  if (s.running > s.desired) return { text, state: 'settling', title: `${of}: the extra ones are stopping` };
  return { text, state: 'ok', title: of };
}

const UPDATE: Record<string, string> = {
  updating: 'updating',
  paused: 'update paused',
  completed: 'updated',
  rollback_started: 'rolling back',
  rollback_paused: 'rollback paused',
  rollback_completed: 'rolled back',
};

/** Where the service's rolling update (or rollback) is, with the engine's message; '' when it
 * has had none. */
export function updateText(u: SwarmUpdate | null): string {
  if (!u) return '';
  const word = UPDATE[u.state] ?? u.state;
  const done = u.state === 'completed' || u.state === 'rollback_completed';
  return u.message && !done ? `${word}: ${u.message}` : word;
}

/** Rollback goes back to the definition before the latest update: offered once a service has
 * had one, and not while (or after) it is rolled back. */
export function canRollback(s: SwarmService): boolean {
  return s.update !== null && !s.update.state.startsWith('rollback');
}

/** A global service runs one task per eligible node: only a replicated one has a count to set. */
export function canScale(s: SwarmService): boolean {
  return s.mode === 'replicated';
}

/** The service's name within stack `stack` (`shop_api` → `api`). */
export function shortName(stack: string, name: string): string {
  const prefix = `${stack}_`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
