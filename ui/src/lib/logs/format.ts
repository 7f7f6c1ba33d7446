// How a line's parts are written: service prefixes and their colours, clock times, and the
// plain text a copied selection becomes.
import type { Line } from '../../bindings/Line';

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

/** Lines as `docker compose logs [-t]` prints them: prefixes padded to one width, `|`, the
 * timestamp when shown, the text. */
export function plainText(lines: readonly Line[], timestamps: boolean): string {
  const prefixes = lines.map(prefixOf);
  const width = Math.max(0, ...prefixes.map((p) => p.length));
  return lines
    .map((l, i) => {
      const time = timestamps ? `${l.time} ` : '';
      return `${prefixes[i].padEnd(width)} | ${time}${l.text}\n`;
    })
    .join('');
}
