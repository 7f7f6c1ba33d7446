import { describe, expect, it } from 'vitest';
import { ProgressBoard } from './progress';

describe('ProgressBoard', () => {
  it('keeps one line per resource with its latest status, in first-seen order', () => {
    const board = new ProgressBoard();
    board.apply({ kind: 'resource', resource: 'Network', name: 'p_default', status: 'Creating' });
    board.apply({ kind: 'resource', resource: 'Container', name: 'p-db-1', status: 'Creating' });
    board.apply({ kind: 'resource', resource: 'Network', name: 'p_default', status: 'Created' });
    board.apply({ kind: 'resource', resource: 'Container', name: 'p-db-1', status: 'Started' });
    expect(board.list.map((l) => `${l.text} ${l.status}`)).toEqual([
      'Network p_default Created',
      'Container p-db-1 Started',
    ]);
  });

  it('says what is underway: the newest unfinished line, dependency waits in words', () => {
    const board = new ProgressBoard();
    board.apply({ kind: 'resource', resource: 'Container', name: 'p-db-1', status: 'Started' });
    board.apply({
      kind: 'waiting',
      service: 'backend',
      dependency: 'mongodb',
      condition: 'service_healthy',
    });
    board.apply({ kind: 'resource', resource: 'Container', name: 'p-web-1', status: 'Created' });
    expect(board.current).toBe('backend waiting for mongodb to be healthy');
    board.apply({
      kind: 'waiting',
      service: 'api',
      dependency: 'migrate',
      condition: 'service_completed_successfully',
    });
    expect(board.current).toBe('api waiting for migrate to complete');
  });

  it('shows pull progress per image and keeps warnings', () => {
    const board = new ProgressBoard();
    board.apply({
      kind: 'layer',
      image: 'redis:7',
      layer: 'a1b2',
      status: 'Downloading',
      current: 1_500_000,
      total: 3_000_000,
    });
    board.apply({ kind: 'warning', message: 'cache_from is ignored' });
    expect(board.current).toBe('Image redis:7 a1b2 Downloading 1.5/3.0 MB');
    expect(board.warnings).toEqual(['cache_from is ignored']);
  });
});
