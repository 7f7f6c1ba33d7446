// The split between the services table and the log pane: dragged with the pointer or moved
// with the arrow keys, and kept within the window.

/** The services pane keeps its header row and a row or two. */
export const MIN_SERVICES = 64;
/** The log pane keeps its toolbar and a few rows: App.svelte's `.logs` min-height, 18rem. */
export const MIN_LOGS = 288;
const STEP = 24;

/** `wanted` within what the window leaves: `top` is where the services pane starts. */
export function clampHeight(wanted: number, top: number, windowHeight: number): number {
  const most = Math.max(MIN_SERVICES, windowHeight - top - MIN_LOGS);
  return Math.round(Math.min(Math.max(wanted, MIN_SERVICES), most));
}

/** Follows a drag that starts on the split until the pointer is released, setting the services
 * pane's height. */
export function dragSplit(event: PointerEvent, pane: HTMLElement, set: (height: number) => void) {
  if (event.button !== 0) return;
  event.preventDefault();
  const handle = event.currentTarget as HTMLElement;
  const from = event.clientY;
  const { top, height } = pane.getBoundingClientRect();
  const move = (e: PointerEvent) => set(clampHeight(height + e.clientY - from, top, window.innerHeight));
  const end = () => {
    handle.removeEventListener('pointermove', move);
    handle.removeEventListener('pointerup', end);
    handle.removeEventListener('pointercancel', end);
  };
  handle.setPointerCapture(event.pointerId);
  handle.addEventListener('pointermove', move);
  handle.addEventListener('pointerup', end);
  handle.addEventListener('pointercancel', end);
}

/** Up and Down move the split a step. */
export function splitKey(event: KeyboardEvent, pane: HTMLElement, set: (height: number) => void) {
  const step = { ArrowUp: -STEP, ArrowDown: STEP }[event.key];
  if (step === undefined) return;
  event.preventDefault();
  const { top, height } = pane.getBoundingClientRect();
  set(clampHeight(height + step, top, window.innerHeight));
}
