import { describe, expect, it } from 'vitest';
import type { ProjectArgs } from '../../bindings/ProjectArgs';
import type { ProjectSummary } from '../../bindings/ProjectSummary';
import { projectRows } from './list';

const listed = (name: string, running: number, containers: number): ProjectSummary => ({
  name,
  status: running ? `running(${running})` : `exited(${containers})`,
  config_files: `/srv/${name}/compose.yaml`,
  running,
  containers,
});

const recent = (file: string, project_name: string | null = null): ProjectArgs => ({
  files: [file],
  project_name,
  project_directory: null,
  env_files: [],
  profiles: [],
});

describe('projectRows', () => {
  it('lists running projects, then stopped ones, then recent ones without containers', () => {
    const rows = projectRows(
      [listed('zoo', 1, 1), listed('blog', 0, 2), listed('api', 2, 3)],
      [recent('/srv/notes/compose.yaml'), recent('/srv/blog/compose.yaml'), recent('/x/y.yaml', 'mail')],
    );
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      ['api', 'running(2)'],
      ['zoo', 'running(1)'],
      ['blog', 'exited(2)'],
      ['notes', 'no containers'],
      ['mail', 'no containers'],
    ]);
  });

  it('opens a listed project by name and a recent one by its index', () => {
    const rows = projectRows([listed('blog', 0, 2)], [recent('/srv/blog/compose.yaml'), recent('/srv/notes/compose.yaml')]);
    expect(rows.map((r) => r.open)).toEqual([
      { kind: 'listed', name: 'blog' },
      { kind: 'recent', index: 1 },
    ]);
  });
});
