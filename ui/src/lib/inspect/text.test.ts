import { describe, expect, it } from 'vitest';
import type { ContainerInspect } from '../../bindings/ContainerInspect';
import {
  envText,
  healthText,
  imageText,
  labelsText,
  mountText,
  networkText,
  restartText,
  shownValue,
} from './text';

const env = [
  { key: 'API_TOKEN', value: 's3cret', secret: true },
  { key: 'PORT', value: '3000', secret: false },
];

function container(over: Partial<ContainerInspect>): ContainerInspect {
  return {
    name: 'shop-api-1',
    id: 'abc',
    state: 'running',
    env,
    mounts: [],
    networks: [],
    labels: [],
    image: { name: 'node:20', id: 'sha256:1', created: '2024-01-02T03:04:05Z', size: 2048 },
    restart_policy: 'no',
    restart_count: 0,
    health_checks: [],
    ...over,
  };
}

// The engine's mask comes with each answer (ServiceInspect.mask).
const mask = '<masked>';

describe('the environment', () => {
  it('masks a secret value until it is revealed, and never a plain one', () => {
    expect(shownValue(env[0], false, mask)).toBe(mask);
    expect(shownValue(env[0], true, mask)).toBe('s3cret');
    expect(shownValue(env[1], false, mask)).toBe('3000');
  });

  it('copies what is shown', () => {
    expect(envText(env, () => false, mask)).toBe(`API_TOKEN=${mask}\nPORT=3000`);
    expect(envText(env, (k) => k === 'API_TOKEN', mask)).toBe('API_TOKEN=s3cret\nPORT=3000');
  });
});

describe('the other sections', () => {
  it('writes a mount as source → target with its mode and volume', () => {
    const volume = {
      kind: 'volume',
      source: '/var/lib/docker/volumes/shop_data/_data',
      target: '/data',
      mode: 'z',
      read_write: true,
      volume: 'shop_data',
    };
    expect(mountText(volume)).toBe(
      '/var/lib/docker/volumes/shop_data/_data → /data (rw, volume, mode z, volume shop_data)',
    );
    const bind = { kind: 'bind', source: '/src', target: '/app', mode: 'ro', read_write: false, volume: null };
    expect(mountText(bind)).toBe('/src → /app (ro, bind)');
  });

  it('writes networks, labels, the image and the restart policy', () => {
    expect(networkText({ name: 'shop_back', ipv4: '172.18.0.2', ipv6: '', aliases: ['api'] })).toBe(
      'shop_back: 172.18.0.2; aliases api',
    );
    expect(networkText({ name: 'none', ipv4: '', ipv6: '', aliases: [] })).toBe('none: no address');
    expect(labelsText([['a', '1'], ['b', '2']])).toBe('a=1\nb=2');
    expect(imageText(container({}))).toBe('node:20\nid sha256:1\ncreated 2024-01-02T03:04:05Z, 2.0 KiB');
    expect(restartText(container({ restart_policy: 'on-failure:3', restart_count: 1 }))).toBe(
      'policy on-failure:3, restarted 1 time',
    );
  });

  it('writes a health check with its times, exit code and output', () => {
    const check = { start: 't0', end: 't1', exit_code: 1, output: 'refused\n' };
    expect(healthText(check)).toBe('t0 → t1 exit 1\nrefused');
  });
});
