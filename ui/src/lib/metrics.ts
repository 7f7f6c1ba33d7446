// Resource use and port probes per service, from the shell's metrics stream (per container).
import type { Metrics } from '../bindings/Metrics';
import type { PortProbe } from '../bindings/PortProbe';
import type { Publisher } from '../bindings/Publisher';
import type { StatsSample } from '../bindings/StatsSample';

/** Samples kept per container: a minute at the engine's one a second. */
const HISTORY = 60;
/** A container whose last sample is older than this (behind the newest) has stopped. */
const STALE_MS = 5000;

export interface ServiceMetrics {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimit: number;
  /** CPU % of the service (all its containers), oldest first. */
  cpuHistory: number[];
}

export class MetricsBoard {
  private samples = new Map<string, StatsSample[]>();
  private probes: PortProbe[] = [];

  /** A new board with `m` applied: Svelte redraws on a new value, not on a mutation. */
  with(m: Metrics): MetricsBoard {
    const next = new MetricsBoard();
    next.samples = new Map(this.samples);
    next.probes = this.probes;
    next.apply(m);
    return next;
  }

  apply(m: Metrics): void {
    switch (m.kind) {
      case 'history':
        this.samples.clear();
        for (const h of m.histories) this.samples.set(h.container_id, h.samples.slice(-HISTORY));
        break;
      case 'samples':
        for (const s of m.samples) {
          const ring = [...(this.samples.get(s.container_id) ?? []), s];
          this.samples.set(s.container_id, ring.slice(-HISTORY));
        }
        break;
      case 'probes':
        this.probes = m.probes;
        break;
    }
  }

  service(name: string): ServiceMetrics | null {
    const newest = Math.max(0, ...[...this.samples.values()].map((r) => r.at(-1)?.at_ms ?? 0));
    const rings = [...this.samples.values()].filter(
      (r) => r.length > 0 && r[0].service === name && newest - r[r.length - 1].at_ms <= STALE_MS,
    );
    if (rings.length === 0) return null;
    const len = Math.max(...rings.map((r) => r.length));
    // Sum the containers' samples aligned from the newest.
    const cpuHistory = Array.from({ length: len }, (_, i) =>
      rings.reduce((sum, r) => sum + (r[r.length - len + i]?.cpu_percent ?? 0), 0),
    );
    const latest = rings.map((r) => r[r.length - 1]);
    return {
      cpuPercent: cpuHistory[len - 1],
      memoryBytes: latest.reduce((sum, s) => sum + s.memory_bytes, 0),
      memoryLimit: latest[0].memory_limit,
      cpuHistory,
    };
  }

  /** The latest probe of a service's published port. */
  probe(service: string, port: Publisher): PortProbe | undefined {
    return this.probes.find(
      (p) =>
        p.service === service &&
        p.result.publisher.host_port === port.host_port &&
        p.result.publisher.protocol === port.protocol,
    );
  }
}

/** `ok` (answers: HTTP below 500, or an open TCP port), `bad`, or `unknown`, and a tooltip. */
export function probeBadge(probe: PortProbe | undefined): { state: string; title: string } {
  if (!probe) return { state: 'unknown', title: 'Not probed yet' };
  const r = probe.result;
  const connect = r.connect_ms !== null ? `connect ${r.connect_ms.toFixed(1)} ms` : '';
  if (r.http) {
    const ok = r.http.status < 500;
    const title = `HTTP ${r.http.status} ${r.http.reason} in ${r.http.latency_ms.toFixed(1)} ms (${connect})`;
    return { state: ok ? 'ok' : 'bad', title };
  }
  switch (r.reach.kind) {
    case 'open':
      return { state: 'ok', title: `TCP open (${connect})` };
    case 'closed':
      return { state: 'bad', title: 'Nothing in the container answers on this port' };
    case 'refused':
      return { state: 'bad', title: 'Connection refused' };
    case 'timeout':
      return { state: 'bad', title: 'No answer (timed out)' };
    case 'error':
      return { state: 'bad', title: r.reach.message };
    case 'skipped':
      return { state: 'unknown', title: r.reach.reason };
  }
}

/** `12.5 MiB`, `1.2 GiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** SVG polyline points for a sparkline `width`×`height`, scaled to at least 100 % on top. */
export function sparkline(values: number[], width: number, height: number): string {
  if (values.length < 2) return '';
  const top = Math.max(100, ...values);
  const step = width / (values.length - 1);
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - (v / top) * height).toFixed(1)}`)
    .join(' ');
}
