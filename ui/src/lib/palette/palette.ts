// The command palette's (Ctrl+K) entries and how a query picks among them. An entry runs what
// the button it stands for runs; the names in it come from the engine and are only text.
import type { Action } from '../../bindings/Action';
import type { ServiceRow } from '../../bindings/ServiceRow';

export type Command =
  | { kind: 'action'; action: Action; services: string[] }
  | { kind: 'logs'; service: string }
  | { kind: 'terminal'; service: string }
  | { kind: 'url'; url: string }
  | { kind: 'project'; name: string };

export interface Entry {
  label: string;
  command: Command;
}

/** How well `query` matches `text` as a subsequence, ignoring case and spaces; null if it does
 * not. Letters that follow each other and letters that start a word score more, so "rw" finds
 * "Restart web" before "Restart worker's backup". */
export function fuzzy(query: string, text: string): number | null {
  const q = query.toLowerCase().replace(/\s+/g, '');
  const t = text.toLowerCase();
  let score = 0;
  let at = 0;
  let previous = -2;
  for (const ch of q) {
    const found = t.indexOf(ch, at);
    if (found < 0) return null;
    if (found === previous + 1) score += 3;
    if (found === 0 || /[\s\-_./(]/.test(t[found - 1])) score += 2;
    score -= Math.min(found - at, 3) / 10;
    previous = found;
    at = found + 1;
  }
  return score;
}

/** The entries `query` matches, best first; equal ones keep their order. */
export function rank<E extends { label: string }>(query: string, list: E[]): E[] {
  return list
    .map((entry, i) => ({ entry, i, score: fuzzy(query, entry.label) }))
    .filter((m) => m.score !== null)
    .sort((a, b) => b.score! - a.score! || a.i - b.i)
    .map((m) => m.entry);
}

/** The stack's actions, each service's (as its row offers them: Stop/Restart when it runs,
 * else Start; Logs; Terminal and its web links when it runs), then the other projects. */
export function entries(services: ServiceRow[], projects: string[], open: string | null): Entry[] {
  const action = (label: string, action: Action, services: string[] = []): Entry => ({
    label,
    command: { kind: 'action', action, services },
  });
  const list: Entry[] = [];
  if (services.length) {
    list.push(action('Start the stack', 'up'), action('Stop the stack', 'stop'), action('Restart the stack', 'restart'));
  }
  for (const s of services) {
    if (s.running > 0) {
      list.push(action(`Stop ${s.name}`, 'stop', [s.name]), action(`Restart ${s.name}`, 'restart', [s.name]));
    } else {
      list.push(action(`Start ${s.name}`, 'up', [s.name]));
    }
    list.push({ label: `Logs of ${s.name}`, command: { kind: 'logs', service: s.name } });
    if (s.running > 0) {
      list.push({ label: `Terminal in ${s.name}`, command: { kind: 'terminal', service: s.name } });
      for (const p of s.ports) {
        if (p.url) list.push({ label: `Open ${p.url} (${s.name})`, command: { kind: 'url', url: p.url } });
      }
    }
  }
  for (const name of projects) {
    if (name !== open) list.push({ label: `Open project ${name}`, command: { kind: 'project', name } });
  }
  return list;
}
