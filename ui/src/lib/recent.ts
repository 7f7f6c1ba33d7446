// How a recent project reads in the project menu.
import type { ProjectArgs } from '../bindings/ProjectArgs';

/** `shop — /srv/shop/compose.yaml + compose.dev.yaml [debug]`: the name (or the directory of
 * the first file), the files (later ones by file name only), and the profiles. */
export function recentLabel(p: ProjectArgs): string {
  const [first, ...rest] = p.files;
  const name = recentName(p);
  const files = [first ?? '', ...rest.map((f) => f.split('/').at(-1))].join(' + ');
  const profiles = p.profiles.length ? ` [${p.profiles.join(', ')}]` : '';
  return `${name} — ${files}${profiles}`;
}

/** The -p name, else the directory of the first file. */
export function recentName(p: ProjectArgs): string {
  const first = p.files[0];
  const dir = first ? first.split('/').slice(0, -1).join('/') : '';
  return p.project_name ?? dir.split('/').at(-1) ?? '';
}
