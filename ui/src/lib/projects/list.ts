// The projects list: every compose project on the engine, whoever started it, and the recent
// projects that have no containers now.
import type { ProjectArgs } from '../../bindings/ProjectArgs';
import type { ProjectSummary } from '../../bindings/ProjectSummary';
import { recentName } from '../recent';

export interface ProjectRow {
  name: string;
  /** compose's words (`running(2), exited(1)`), or `no containers`. */
  state: string;
  running: number;
  containers: number;
  /** How to open it: by its containers' labels, or as it was last opened. */
  open: { kind: 'listed'; name: string } | { kind: 'recent'; index: number };
}

/** Projects with running containers first, then those with stopped ones (each by name), then
 * the recent projects the engine has no containers of, most recent first. */
export function projectRows(listed: ProjectSummary[], recent: ProjectArgs[]): ProjectRow[] {
  const rows: ProjectRow[] = [...listed]
    .sort((a, b) => Number(b.running > 0) - Number(a.running > 0) || a.name.localeCompare(b.name))
    .map((p) => ({
      name: p.name,
      state: p.status,
      running: p.running,
      containers: p.containers,
      open: { kind: 'listed', name: p.name },
    }));
  const names = new Set(rows.map((r) => r.name));
  recent.forEach((args, index) => {
    const name = recentName(args);
    if (names.has(name)) return;
    names.add(name);
    rows.push({ name, state: 'no containers', running: 0, containers: 0, open: { kind: 'recent', index } });
  });
  return rows;
}
