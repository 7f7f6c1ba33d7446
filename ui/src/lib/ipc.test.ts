import { describe, expect, it, vi } from 'vitest';
import type { PortConflict } from '../bindings/PortConflict';

// What the shell answers: a plain function rather than a vi.fn, whose bookkeeping of a rejected
// promise would itself count as an unhandled rejection.
const calls: unknown[][] = [];
let reject: unknown;
vi.mock('@tauri-apps/api/core', () => ({
  invoke: (...args: unknown[]) => {
    calls.push(args);
    return Promise.reject(reject);
  },
  Channel: class {
    onmessage: ((m: unknown) => void) | undefined;
  },
}));

const { conflictRows, ipcError, runAction, openRecent } = await import('./ipc');

const held: PortConflict = {
  service: 'web',
  host_ip: '',
  host_port: 8080,
  protocol: 'tcp',
  holder: { kind: 'process', pid: 4242, command: 'nc' },
};

describe('ipc', () => {
  it('rejects a failed command with its error as data, ports and all', async () => {
    reject = {
      kind: 'port_conflict',
      message: 'service web: host port 8080/tcp is already in use by process nc (pid 4242)',
      service: null,
      ports: [held],
    };
    const failed = await runAction({ action: 'up', services: [] }, () => {}).catch((e) => e);
    expect(calls.at(-1)).toEqual([
      'run_action',
      { request: { action: 'up', services: [] }, onProgress: expect.anything() },
    ]);
    expect(failed.kind).toBe('port_conflict');
    expect(failed.ports).toEqual([held]);
    expect(conflictRows(failed)).toEqual(
      new Map([['web', 'host port 8080/tcp is held by process nc (pid 4242)']]),
    );
  });

  it("reads Tauri's own string rejections, and anything else, as an error with those words", async () => {
    reject = 'open_recent not allowed. Permissions associated with this command: []';
    await expect(openRecent(3)).rejects.toEqual({
      kind: 'invalid',
      message: 'open_recent not allowed. Permissions associated with this command: []',
      service: null,
      ports: [],
    });
    expect(ipcError(new Error('boom')).message).toBe('boom');
    expect(ipcError({ kind: 'no_such_kind', message: 'x' }).kind).toBe('invalid');
    expect(ipcError({ kind: 'stack', message: 'service db exited', service: 'db' })).toEqual({
      kind: 'stack',
      message: 'service db exited',
      service: 'db',
      ports: [],
    });
  });

  it("marks a conflict's services only, and Docker's late conflict by its service", () => {
    expect(conflictRows(null).size).toBe(0);
    expect(conflictRows({ kind: 'stack', message: 'x', service: 'db', ports: [] }).size).toBe(0);
    const late = conflictRows({
      kind: 'port_conflict',
      message: 'service api: host port 9000 is already allocated\nStop what holds it.',
      service: 'api',
      ports: [],
    });
    expect(late).toEqual(new Map([['api', 'service api: host port 9000 is already allocated']]));
    const container = conflictRows({
      kind: 'port_conflict',
      message: '',
      service: null,
      ports: [{ ...held, holder: { kind: 'container', name: 'c1', project: 'other', service: 'x' } }],
    });
    expect(container.get('web')).toBe('host port 8080/tcp is held by container c1 of compose project other');
  });
});
