// How a recent project reads in the project menu.
import type { ProjectArgs } from '../bindings/ProjectArgs';

/** `shop — /srv/shop/compose.yaml + compose.dev.yaml [debug]`: the name (or the directory of
 * the first file), the files (later ones by file name only), and the profiles. */
export function recentLabel(p: ProjectArgs): string {
  const [first, ...rest] = p.files;
  const dir = first ? first.split('/').slice(0, -1).join('/') : '';
  const name = p.project_name ?? dir.split('/').at(-1) ?? '';
  const files = [first ?? '', ...rest.map((f) => f.split('/').at(-1))].join(' + ');
  const profiles = p.profiles.length ? ` [${p.profiles.join(', ')}]` : '';
  return `${name} — ${files}${profiles}`;
}
