import { describe, expect, it } from 'vitest';
import { ACK_EVERY, Acks } from './flow';

describe('Acks', () => {
  it('acknowledges written bytes in batches, every byte once', () => {
    const sent: number[] = [];
    const acks = new Acks((n) => (sent.push(n), true));
    acks.written(ACK_EVERY - 1);
    expect(sent).toEqual([]);
    acks.written(1);
    expect(sent).toEqual([ACK_EVERY]);
    acks.written(3 * ACK_EVERY + 5);
    expect(sent).toEqual([ACK_EVERY, 3 * ACK_EVERY + 5]);
  });

  it('keeps what it could not send yet (output before the terminal has its id)', () => {
    const sent: number[] = [];
    let ready = false;
    const acks = new Acks((n) => ready && (sent.push(n), true));
    acks.written(ACK_EVERY);
    expect(sent).toEqual([]);
    ready = true;
    acks.written(7);
    expect(sent).toEqual([ACK_EVERY + 7]);
  });
});
