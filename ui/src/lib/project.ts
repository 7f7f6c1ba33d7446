import type { ProjectStatus } from '../bindings/ProjectStatus';

/** The header's title and subtitle for the open project. */
export function projectHeading(status: ProjectStatus | undefined): { title: string; files: string } {
  if (status === undefined) return { title: 'Loading project…', files: '' };
  if (status.state === 'loaded') return { title: status.name, files: status.files.join(' + ') };
  return { title: 'Invalid compose file', files: status.files.join(' + ') };
}
