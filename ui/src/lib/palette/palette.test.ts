import { describe, expect, it } from 'vitest';
import type { ServiceRow } from '../../bindings/ServiceRow';
import { entries, fuzzy, rank } from './palette';

describe('fuzzy', () => {
  it('matches the query as a subsequence, whatever the case', () => {
    expect(fuzzy('rsw', 'Restart web')).not.toBeNull();
    expect(fuzzy('RESTART', 'restart web')).not.toBeNull();
    expect(fuzzy('wr', 'Restart web')).toBeNull();
    expect(fuzzy('', 'anything')).toBe(0);
  });

  it('scores consecutive letters and word starts above scattered ones', () => {
    expect(fuzzy('web', 'Restart web')!).toBeGreaterThan(fuzzy('web', 'Show worker bees')!);
    expect(fuzzy('sto', 'Stop api')!).toBeGreaterThan(fuzzy('sto', 'Restart postgres')!);
  });
});

describe('rank', () => {
  const list = ['Restart worker', 'Restart web', 'Stop web', 'Logs of web'].map((label) => ({ label }));

  it('keeps only matches, best first, ties in their given order', () => {
    expect(rank('rest web', list).map((e) => e.label)).toEqual(['Restart web']);
    expect(rank('web', list).map((e) => e.label)).toEqual(['Restart web', 'Stop web', 'Logs of web']);
    expect(rank('', list)).toEqual(list);
  });
});

const row = (name: string, running: number, url: string | null = null): ServiceRow =>
  ({
    name,
    running,
    ports: url ? [{ host_ip: '0.0.0.0', host_port: 8080, container_port: 80, protocol: 'tcp', url }] : [],
  }) as ServiceRow;

describe('entries', () => {
  it('offers each service what its row offers, and the other projects', () => {
    const labels = entries([row('web', 1, 'http://localhost:8080'), row('db', 0)], ['shop', 'blog'], 'shop').map(
      (e) => e.label,
    );
    expect(labels).toEqual([
      'Start the stack',
      'Stop the stack',
      'Restart the stack',
      'Stop web',
      'Restart web',
      'Logs of web',
      'Terminal in web',
      'Open http://localhost:8080 (web)',
      'Start db',
      'Logs of db',
      'Open project blog',
    ]);
  });

  it('runs what the buttons run', () => {
    const [, , , stop] = entries([row('web', 1)], [], 'shop');
    expect(stop.command).toEqual({ kind: 'action', action: 'stop', services: ['web'] });
    const open = entries([], ['blog'], 'shop').at(-1)!;
    expect(open.command).toEqual({ kind: 'project', name: 'blog' });
  });
});
