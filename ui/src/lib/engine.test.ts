import { describe, expect, it } from 'vitest';
import { engineBadge } from './engine';

describe('engineBadge', () => {
  it('says it is connecting before the first answer', () => {
    expect(engineBadge(undefined)).toEqual({
      text: 'Connecting…',
      detail: 'Looking for a Docker engine',
      ok: false,
    });
  });

  it('names the version, API and endpoint of a connected engine', () => {
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

  it('passes the reason through when no engine answers', () => {
    const badge = engineBadge({ state: 'unavailable', reason: 'no Docker engine answers at x' });
    expect(badge.ok).toBe(false);
    expect(badge.text).toBe('Engine unavailable');
    expect(badge.detail).toBe('no Docker engine answers at x');
  });
});
