import { describe, expect, it } from 'vitest';
import type { ServiceRow } from '../bindings/ServiceRow';
import { watchingAny, watchText, watchTime } from './watch';

const now = Date.parse('2026-12-05T16:00:10Z');

describe('watchText', () => {
  it('says what watch mode did, and how long ago', () => {
    expect(watchText({ state: 'watching' }, now)).toBe('watching');
    expect(watchText({ state: 'syncing', files: 3 }, now)).toBe('syncing 3 files');
    expect(watchText({ state: 'synced', files: 1, at: '2026-12-05T16:00:08Z' }, now)).toBe(
      'synced 1 file 2s ago',
    );
    expect(watchText({ state: 'synced', files: 3, at: '2026-12-05T15:58:00Z' }, now)).toBe(
      'synced 3 files 2m ago',
    );
    expect(watchText({ state: 'rebuilding' }, now)).toBe('rebuilding');
    expect(watchText({ state: 'restarted', at: '2026-12-05T16:00:00Z' }, now)).toBe(
      'restarted 10s ago',
    );
    expect(
      watchText({ state: 'failed', what: 'sync', message: '/app is read-only' }, now),
    ).toBe('sync failed: /app is read-only');
  });
});

describe('watchTime and watchingAny', () => {
  const row = (over: Partial<ServiceRow>) => ({ watchable: true, watch: null, ...over }) as ServiceRow;

  it('give the clock the times shown, and the header whether anything is watched', () => {
    expect(watchTime(row({ watch: { state: 'synced', files: 1, at: 'T' } }))).toBe('T');
    expect(watchTime(row({ watch: { state: 'watching' } }))).toBe('');
    expect(watchTime(row({}))).toBe('');
    expect(watchingAny([row({}), row({ watchable: false })])).toBe(false);
    expect(watchingAny([row({}), row({ watch: { state: 'watching' } })])).toBe(true);
  });
});
