import { describe, expect, it } from 'vitest';
import { Input } from './input';

/** A send whose calls resolve when the test says, in any order it likes. */
function deferredSend() {
  const calls: { data: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const send = (data: string) =>
    new Promise<void>((resolve, reject) => calls.push({ data, resolve, reject }));
  return { calls, send };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('Input', () => {
  it('sends keys typed while a send is in flight as one later send, in order', async () => {
    const { calls, send } = deferredSend();
    const input = new Input(send);
    input.type('e');
    input.type('c');
    input.type('h');
    input.type('o');
    // One call at a time: the engine would otherwise be free to write them in any order.
    expect(calls.map((c) => c.data)).toEqual(['e']);
    calls[0].resolve();
    await settle();
    expect(calls.map((c) => c.data)).toEqual(['e', 'cho']);
    input.type(' x');
    calls[1].resolve();
    await settle();
    expect(calls.map((c) => c.data)).toEqual(['e', 'cho', ' x']);
  });

  it('goes on after a failed send', async () => {
    const { calls, send } = deferredSend();
    const input = new Input(send);
    input.type('a');
    input.type('b');
    calls[0].reject(new Error('gone'));
    await settle();
    expect(calls.map((c) => c.data)).toEqual(['a', 'b']);
  });
});
