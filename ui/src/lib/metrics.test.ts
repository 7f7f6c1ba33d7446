import { describe, expect, it } from 'vitest';
import type { PortProbe } from '../bindings/PortProbe';
import type { StatsSample } from '../bindings/StatsSample';
import { MetricsBoard, bytes, probeBadge, sparkline } from './metrics';

function sample(id: string, service: string, at: number, cpu: number, mem: number): StatsSample {
  return {
    container_id: id,
    name: `p-${service}-${id}`,
    service,
    at_ms: at,
    cpu_percent: cpu,
    memory_bytes: mem,
    memory_limit: 1 << 30,
    memory_percent: 0,
    net_rx: 0,
    net_tx: 0,
    block_read: 0,
    block_write: 0,
    pids: 1,
  };
}

const publisher = { host_ip: '0.0.0.0', host_port: 8080, container_port: 80, protocol: 'tcp', url: null };

function probe(over: Partial<PortProbe['result']>): PortProbe {
  return {
    service: 'web',
    container: 'p-web-1',
    result: {
      publisher,
      address: '127.0.0.1',
      reach: { kind: 'open' },
      connect_ms: 0.4,
      http: null,
      checked_at_ms: 0,
      ...over,
    },
  };
}

describe('MetricsBoard', () => {
  it('sums a service’s replicas and keeps a minute of history', () => {
    const board = new MetricsBoard();
    board.apply({
      kind: 'history',
      histories: [
        { container_id: 'a', name: 'p-web-1', service: 'web', samples: [sample('a', 'web', 1000, 10, 100)] },
      ],
    });
    board.apply({
      kind: 'samples',
      samples: [sample('a', 'web', 2000, 20, 200), sample('b', 'web', 2000, 5, 50)],
    });
    const web = board.service('web')!;
    expect(web.cpuPercent).toBe(25);
    expect(web.memoryBytes).toBe(250);
    expect(web.cpuHistory).toEqual([10, 25]);
    for (let t = 3; t < 100; t++) board.apply({ kind: 'samples', samples: [sample('a', 'web', t * 1000, 1, 1)] });
    expect(board.service('web')!.cpuHistory.length).toBe(60);
    expect(board.service('db')).toBeNull();
  });

  it('drops containers that stopped sending', () => {
    const board = new MetricsBoard();
    board.apply({
      kind: 'samples',
      samples: [sample('a', 'web', 1000, 50, 1), sample('b', 'db', 1000, 7, 1)],
    });
    board.apply({ kind: 'samples', samples: [sample('b', 'db', 20_000, 7, 1)] });
    expect(board.service('web')).toBeNull();
    expect(board.service('db')!.cpuPercent).toBe(7);
  });

  it('finds the probe of a published port', () => {
    const board = new MetricsBoard();
    board.apply({ kind: 'probes', probes: [probe({})] });
    expect(board.probe('web', publisher)?.container).toBe('p-web-1');
    expect(board.probe('db', publisher)).toBeUndefined();
  });
});

describe('probeBadge', () => {
  it('reads HTTP answers, open ports and failures', () => {
    const http = { status: 200, reason: 'OK', latency_ms: 3.25 };
    expect(probeBadge(probe({ http }))).toEqual({
      state: 'ok',
      title: 'HTTP 200 OK in 3.3 ms (connect 0.4 ms)',
    });
    expect(probeBadge(probe({ http: { ...http, status: 502, reason: 'Bad Gateway' } })).state).toBe('bad');
    expect(probeBadge(probe({})).title).toBe('TCP open (connect 0.4 ms)');
    expect(probeBadge(probe({ reach: { kind: 'refused' }, connect_ms: null })).state).toBe('bad');
    expect(probeBadge(undefined).state).toBe('unknown');
  });
});

describe('formatting', () => {
  it('prints sizes in binary units', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(12.5 * 1024 * 1024)).toBe('12.5 MiB');
  });

  it('draws a sparkline scaled to 100 % at least', () => {
    expect(sparkline([0, 50, 100], 20, 10)).toBe('0.0,10.0 10.0,5.0 20.0,0.0');
    expect(sparkline([5], 20, 10)).toBe('');
  });
});

describe('MetricsBoard.with', () => {
  it('returns a new board and leaves the old one as it was', () => {
    const a = new MetricsBoard();
    const b = a.with({ kind: 'samples', samples: [sample('a', 'web', 1000, 10, 1)] });
    expect(b).not.toBe(a);
    expect(a.service('web')).toBeNull();
    expect(b.service('web')!.cpuPercent).toBe(10);
  });
});
