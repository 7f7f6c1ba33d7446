// The Inspect panel's sections as plain text: what each shows and what its Copy button copies.
// Values are the engine's, untouched; a secret-looking one stays masked until the user reveals it.
import type { ContainerInspect } from '../../bindings/ContainerInspect';
import type { EnvVar } from '../../bindings/EnvVar';
import type { HealthCheck } from '../../bindings/HealthCheck';
import type { ContainerMount } from '../../bindings/ContainerMount';
import type { ContainerNetwork } from '../../bindings/ContainerNetwork';
import { bytes } from '../metrics';

/** A variable's value as shown: `mask` (the engine's, ServiceInspect.mask) while it is secret
 * and not revealed. */
export function shownValue(v: EnvVar, revealed: boolean, mask: string): string {
  return v.secret && !revealed ? mask : v.value;
}

export function envText(env: EnvVar[], revealed: (key: string) => boolean, mask: string): string {
  return env.map((v) => `${v.key}=${shownValue(v, revealed(v.key), mask)}`).join('\n');
}

/** `source → target (ro, volume data)`: the mount's line. */
export function mountText(m: ContainerMount): string {
  const how = [m.read_write ? 'rw' : 'ro', m.kind];
  if (m.mode && m.mode !== 'ro' && m.mode !== 'rw') how.push(`mode ${m.mode}`);
  if (m.volume) how.push(`volume ${m.volume}`);
  return `${m.source || '(none)'} → ${m.target} (${how.join(', ')})`;
}

export function networkText(n: ContainerNetwork): string {
  const addresses = [n.ipv4, n.ipv6].filter((a) => a).join(', ') || 'no address';
  const aliases = n.aliases.length ? `; aliases ${n.aliases.join(', ')}` : '';
  return `${n.name}: ${addresses}${aliases}`;
}

export function labelsText(labels: [string, string][]): string {
  return labels.map(([k, v]) => `${k}=${v}`).join('\n');
}

export function imageText(c: ContainerInspect): string {
  const i = c.image;
  const lines = [`${i.name}`, `id ${i.id}`];
  lines.push(i.created ? `created ${i.created}, ${bytes(i.size)}` : 'the image is gone from the engine');
  return lines.join('\n');
}

export function restartText(c: ContainerInspect): string {
  return `policy ${c.restart_policy}, restarted ${c.restart_count} time${c.restart_count === 1 ? '' : 's'}`;
}

/** `start → end exit N`, then the output. */
export function healthText(h: HealthCheck): string {
  return `${h.start} → ${h.end} exit ${h.exit_code}\n${h.output.trimEnd()}`;
}
