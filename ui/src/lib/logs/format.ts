// How a line's parts are written: service prefixes and their colours, clock times, sizes, and
// the plain text a copied selection becomes.
import type { Line } from '../../bindings/Line';
import { inert } from './ansi';

/** Distinct service colours in logs.css (`svc-0` … `svc-9`). */
export const SERVICE_COLOURS = 10;

/** A service's colour slot: by its place in the project's start order, so it never changes
 * while the project is open and does not depend on the filter. Unknown services hash. */
export function serviceColour(projectServices: readonly string[], service: string): number {
  const i = projectServices.indexOf(service);
  if (i >= 0) return i % SERVICE_COLOURS;
  let h = 0;
  for (let k = 0; k < service.length; k++) h = (h * 31 + service.charCodeAt(k)) >>> 0;
  return h % SERVICE_COLOURS;
}

/** `docker compose logs`' prefix: the service and the replica number from the container's
 * name (`<project>-<service>-<n>`), e.g. `web-1`. */
export function prefixOf(line: Pick<Line, 'service' | 'container'>): string {
  const replica = /-(\d+)$/.exec(line.container);
  return replica ? `${line.service}-${replica[1]}` : line.service;
}

const two = (n: number) => String(n).padStart(2, '0');

/** The local wall-clock time of an RFC 3339 timestamp, to the millisecond (`14:03:07.120`);
 * the text itself when it is not a timestamp. */
export function clockTime(rfc3339: string): string {
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  const ms = String(t.getMilliseconds()).padStart(3, '0');
  return `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}.${ms}`;
}

/** A size as people read it: `512 bytes`, `8.2 kB`, `15.9 MB` (decimal units). */
export function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const [value, unit] =
    bytes < 1e6 ? [bytes / 1e3, 'kB'] : bytes < 1e9 ? [bytes / 1e6, 'MB'] : [bytes / 1e9, 'GB'];
  return `${value.toFixed(1)} ${unit}`;
}

/** What follows the start of a long line on screen, or '' for a whole one. */
export function more(line: Pick<Line, 'omitted'>): string {
  return line.omitted > 0 ? `… ${size(line.omitted)} more` : '';
}

/** A line's text as the screen shows it (what copying takes, too): control, direction and
 * separator characters as their stand-ins, and a long line's start with what it leaves out. */
export function shownText(line: Pick<Line, 'text' | 'omitted'>): string {
  const rest = more(line);
  return rest ? `${inert(line.text)} ${rest}` : inert(line.text);
}

/** Lines as `docker compose logs [-t]` prints them: prefixes padded to one width, `|`, the
 * timestamp when shown, the text as shown. Berth's own lines say so, as the export does. */
export function plainText(lines: readonly Line[], timestamps: boolean): string {
  const prefixes = lines.map((l) => (l.stream === 'berth' ? `${l.service} (berth)` : prefixOf(l)));
  const width = Math.max(0, ...prefixes.map((p) => p.length));
  return lines
    .map((l, i) => {
      const time = timestamps ? `${l.time} ` : '';
      return `${prefixes[i].padEnd(width)} | ${time}${shownText(l)}\n`;
    })
    .join('');
}
