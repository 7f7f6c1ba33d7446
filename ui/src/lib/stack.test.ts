import { describe, expect, it } from 'vitest';
import type { ServiceRow } from '../bindings/ServiceRow';
import { engineBadge, healthDetail, projectHeading, uptime, uptimeTick } from './stack';

function row(over: Partial<ServiceRow>): ServiceRow {
  return {
    name: 'web',
    image: 'nginx:1',
    build: false,
    watchable: false,
    watch: null,
    desired: { kind: 'running', replicas: 1 },
    state: 'running',
    running: 1,
    replicas: 1,
    health: null,
    health_log: [],
    started_at: '',
    restart_count: 0,
    exit_code: null,
    ports: [],
    label: 'running',
    problem: null,
    config_changed: false,
    ...over,
  };
}

describe('engineBadge', () => {
  it('says it is still looking before the first answer', () => {
    expect(engineBadge(undefined).text).toBe('Connecting…');
    expect(engineBadge({ state: 'connecting' }).ok).toBe(false);
  });

  it('names the engine and where it answers', () => {
    const badge = engineBadge({
      state: 'connected',
      endpoint: 'unix:///var/run/docker.sock',
      version: '20.10.24',
      api_version: '1.41',
      os: 'linux',
      arch: 'amd64',
    });
    expect(badge).toEqual({
      text: 'Docker 20.10.24',
      detail: 'API 1.41 at unix:///var/run/docker.sock',
      ok: true,
    });
  });

  it('says why the engine is unavailable and when it retries', () => {
    const badge = engineBadge({ state: 'unavailable', reason: 'socket gone', retry_in_ms: 4000 });
    expect(badge).toEqual({
      text: 'Engine unavailable',
      detail: 'socket gone (retrying in 4 s)',
      ok: false,
    });
  });
});

describe('projectHeading', () => {
  it('names a loaded project and every file it merges, in order', () => {
    const heading = projectHeading({
      state: 'loaded',
      name: 'shop',
      files: ['/srv/shop/compose.yaml', '/srv/shop/compose.prod.yaml'],
      profiles: [],
      active_profiles: [],
      services: [],
      missing: [],
    });
    expect(heading).toEqual({
      title: 'shop',
      files: '/srv/shop/compose.yaml + /srv/shop/compose.prod.yaml',
    });
  });

  it('still names the files when they do not load', () => {
    const heading = projectHeading({ state: 'invalid', files: ['/srv/c.yaml'], message: 'e' });
    expect(heading).toEqual({ title: 'Invalid compose file', files: '/srv/c.yaml' });
    expect(projectHeading(undefined).title).toBe('Loading project…');
  });
});

describe('uptime', () => {
  const start = '2026-11-22T10:00:00Z';
  const at = (s: number) => Date.parse(start) + s * 1000;
  it('reads at a glance at every scale', () => {
    expect(uptime(start, at(45))).toBe('45s');
    expect(uptime(start, at(12 * 60 + 5))).toBe('12m');
    expect(uptime(start, at(3 * 3600 + 120))).toBe('3h 2m');
    expect(uptime(start, at(4 * 86400 + 3600))).toBe('4d 1h');
  });

  it('redraws every second only while some uptime shows seconds', () => {
    expect(uptimeTick([start, ''], at(30))).toBe(1000);
    expect(uptimeTick([start], at(90))).toBe(30_000);
    expect(uptimeTick(['', ''], at(90))).toBeNull();
  });

  it('is empty for a container that does not run', () => {
    expect(uptime('', at(1))).toBe('');
    expect(uptime('not a date', at(1))).toBe('');
  });
});

describe('healthDetail', () => {
  it('shows the latest check output', () => {
    expect(healthDetail(row({ health: 'unhealthy', health_log: ['ok', 'refused\n'] }))).toBe(
      'Last check: refused',
    );
    expect(healthDetail(row({ health: 'starting' }))).toBe('starting');
  });
});
