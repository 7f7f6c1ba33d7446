// Paths in a container for the Files panel: the path bar's parts and where an entry leads.
import { inert } from '../logs/ansi';

/** The path bar: `/`, then each directory down to `path`, each with the path it opens; names
 * come from the container, so labels show control and bidi characters as stand-ins. */
export function crumbs(path: string): { label: string; path: string }[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out = [{ label: '/', path: '/' }];
  parts.forEach((part, i) => out.push({ label: inert(part), path: `/${parts.slice(0, i + 1).join('/')}` }));
  return out;
}

/** The path of entry `name` in directory `dir`. */
export function child(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The directory above `path` (`/` above itself). */
export function parent(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

/** An mtime (seconds since the epoch) as `2024-01-02 03:04`, in the local time zone. */
export function modified(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}
