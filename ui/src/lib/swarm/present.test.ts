import { describe, expect, it } from 'vitest';
import type { SwarmService } from '../../bindings/SwarmService';
import type { SwarmUpdate } from '../../bindings/SwarmUpdate';
import { canRollback, canScale, replicas, shortName, updateText } from './present';

function service(over: Partial<SwarmService>): SwarmService {
  return {
    id: 'x1',
    name: 'shop_api',
    mode: 'replicated',
    desired: 3,
    running: 3,
    image: 'api:1',
    ports: [],
    update: null,
    ...over,
  };
}

const update = (state: string, message = ''): SwarmUpdate => ({ state, message });

describe('replicas', () => {
  it('counts running of desired, and says when some are missing', () => {
    expect(replicas(service({}))).toEqual({ text: '3/3', state: 'ok', title: '3 of 3 replicas run' });
    expect(replicas(service({ running: 1 }))).toEqual({
      text: '1/3',
      state: 'short',
      title: '1 of 3 replicas run: 2 missing',
    });
    // Scaled down: the extra ones are still stopping.
    expect(replicas(service({ desired: 1, running: 3 }))).toMatchObject({ text: '3/1', state: 'settling' });
  });

  it('calls a global service global, and one with nowhere to run idle', () => {
    expect(replicas(service({ mode: 'global', desired: 2, running: 2 }))).toMatchObject({
      text: 'global 2/2',
      state: 'ok',
    });
    expect(replicas(service({ mode: 'global', desired: 0, running: 0 }))).toEqual({
      text: 'global 0/0',
      state: 'idle',
      title: 'no node is eligible to run it',
    });
    expect(replicas(service({ desired: 0, running: 0 }))).toMatchObject({ text: '0/0', state: 'idle' });
  });
});

describe('updateText', () => {
  it("says where a rolling update or a rollback is, with the engine's message", () => {
    expect(updateText(null)).toBe('');
    expect(updateText(update('updating', 'update in progress'))).toBe('updating: update in progress');
    expect(updateText(update('paused', 'update paused due to failure'))).toBe(
      'update paused: update paused due to failure',
    );
    expect(updateText(update('completed'))).toBe('updated');
    expect(updateText(update('rollback_started'))).toBe('rolling back');
    expect(updateText(update('rollback_paused', 'x'))).toBe('rollback paused: x');
    expect(updateText(update('rollback_completed'))).toBe('rolled back');
    // A word this version does not know is shown as the engine says it.
    expect(updateText(update('rollback_frobbed'))).toBe('rollback_frobbed');
  });
});

describe('actions', () => {
  it('offers Rollback after an update, not during or after a rollback', () => {
    expect(canRollback(service({}))).toBe(false);
    expect(canRollback(service({ update: update('updating') }))).toBe(true);
    expect(canRollback(service({ update: update('paused') }))).toBe(true);
    expect(canRollback(service({ update: update('completed') }))).toBe(true);
    expect(canRollback(service({ update: update('rollback_started') }))).toBe(false);
    expect(canRollback(service({ update: update('rollback_completed') }))).toBe(false);
  });

  it('scales replicated services only', () => {
    expect(canScale(service({}))).toBe(true);
    expect(canScale(service({ mode: 'global' }))).toBe(false);
  });

  it("names a service within its stack, keeping the Swarm's name when it is another's", () => {
    expect(shortName('shop', 'shop_api')).toBe('api');
    expect(shortName('shop', 'shopx_api')).toBe('shopx_api');
  });
});
