// What the header and the services table say, from the view the shell pushes.
import type { EngineView } from '../bindings/EngineView';
import type { ProjectStatus } from '../bindings/ProjectStatus';
import type { ServiceRow } from '../bindings/ServiceRow';

/** What the header says about the engine, and whether that is good news. */
export interface EngineBadge {
  text: string;
  detail: string;
  ok: boolean;
}

export function engineBadge(engine: EngineView | undefined): EngineBadge {
  if (engine === undefined || engine.state === 'connecting') {
    return { text: 'Connecting…', detail: 'Looking for a Docker engine', ok: false };
  }
  if (engine.state === 'connected') {
    return {
      text: `Docker ${engine.version}`,
      detail: `API ${engine.api_version} at ${engine.endpoint}`,
      ok: true,
    };
  }
  const retry = Math.max(1, Math.round(engine.retry_in_ms / 1000));
  return {
    text: 'Engine unavailable',
    detail: `${engine.reason} (retrying in ${retry} s)`,
    ok: false,
  };
}

/** The header's title and subtitle for the open project. */
export function projectHeading(status: ProjectStatus | undefined): { title: string; files: string } {
  if (status === undefined) return { title: 'Loading project…', files: '' };
  if (status.state === 'loaded') return { title: status.name, files: status.files.join(' + ') };
  return { title: 'Invalid compose file', files: status.files.join(' + ') };
}

/** `45s`, `12m`, `3h 2m`, `4d 1h`: how long since `startedAt`, or empty. Seconds only in the
 * first minute, so the table need not redraw every second (see `uptimeTick`). */
export function uptime(startedAt: string, now: number): string {
  const s = uptimeSeconds(startedAt, now);
  if (s === null) return '';
  const [d, h, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

function uptimeSeconds(startedAt: string, now: number): number | null {
  const since = startedAt ? Date.parse(startedAt) : NaN;
  return Number.isNaN(since) ? null : Math.max(0, Math.floor((now - since) / 1000));
}

/** How often the uptimes need redrawing: every second while one shows seconds, every 30 s
 * otherwise (a minute shown up to 30 s late), never when nothing runs. */
export function uptimeTick(startedAts: string[], now: number): number | null {
  const ages = startedAts.map((s) => uptimeSeconds(s, now)).filter((s) => s !== null);
  if (ages.length === 0) return null;
  return ages.some((s) => s < 60) ? 1000 : 30_000;
}

/** The health badge's tooltip: the latest health check output. */
export function healthDetail(row: ServiceRow): string {
  const last = row.health_log.at(-1)?.trim();
  return last ? `Last check: ${last}` : (row.health ?? '');
}
