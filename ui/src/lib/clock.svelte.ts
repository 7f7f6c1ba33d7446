// The time the services table's uptimes are drawn at.
import { uptimeTick } from './stack';

/** The current time, redrawn only as often as the uptimes of `startedAts` need (an idle window
 * stays idle). Call during component initialisation. */
export function uptimeClock(startedAts: () => string[]): { readonly now: number } {
  let now = $state(Date.now());
  const tick = $derived(uptimeTick(startedAts(), now));
  $effect(() => {
    // Armed again after every tick: `tick` alone stays 1000 (or 30 000) from one tick to the
    // next, which would leave the first timer the only one.
    void now;
    if (tick === null) return;
    const timer = setTimeout(() => (now = Date.now()), tick);
    return () => clearTimeout(timer);
  });
  return {
    get now() {
      return now;
    },
  };
}
