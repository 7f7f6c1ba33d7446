// Mounting the viewer in happy-dom for tests. happy-dom does no layout, so the log list's
// height is stubbed: the viewer reads it as `clientHeight`, as in a browser.
import { flushSync, mount, unmount } from 'svelte';
import type { LogSource } from '../source';
import Harness from './Harness.svelte';

export const VIEWPORT = 600;
export const ROW = 20;

Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
  configurable: true,
  get(this: HTMLElement) {
    return this.dataset.testid === 'log-lines' ? VIEWPORT : 0;
  },
});

// happy-dom does not match options with `:checked`, which Svelte's `bind:value` on a <select>
// reads (and its `selectedOptions` goes stale); answer from `selectedIndex` as a browser would.
const querySelector = HTMLSelectElement.prototype.querySelector;
HTMLSelectElement.prototype.querySelector = function (this: HTMLSelectElement, selector: string) {
  return selector === ':checked'
    ? (this.options[this.selectedIndex] ?? null)
    : querySelector.call(this, selector);
} as typeof querySelector;

/** Picks an option of a <select> as the user would. */
export function choose(select: HTMLElement, label: string): void {
  const s = select as HTMLSelectElement;
  const i = [...s.options].findIndex((o) => o.textContent === label);
  if (i < 0) throw new Error(`no option ${label}`);
  s.selectedIndex = i;
  s.dispatchEvent(new Event('change', { bubbles: true }));
}

/** Lets promises and timers run, then applies Svelte's pending updates; a few rounds so chains
 * (setView → window → render) finish. */
export async function settle(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
  }
}

export async function wait(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  await settle();
}

export interface Viewer {
  root: HTMLElement;
  focus(names: string[]): void;
  chosen(): string[];
  /** The rendered rows. */
  rows(): HTMLElement[];
  /** The positions of the rendered rows, in order. */
  positions(): number[];
  row(pos: number): HTMLElement | undefined;
  list(): HTMLElement;
  get(testid: string): HTMLElement;
  query(testid: string): HTMLElement | null;
  /** Scrolls the list as the user would, to a scroll position. */
  scrollTo(scrollTop: number): Promise<void>;
  /** The largest scroll position the list has. */
  maxScroll(): number;
  key(key: string, target?: EventTarget, mods?: KeyboardEventInit): Promise<void>;
  click(el: Element, mods?: MouseEventInit): Promise<void>;
  type(text: string): Promise<void>;
  close(): void;
}

export async function render(source: LogSource, services: string[]): Promise<Viewer> {
  const target = document.createElement('div');
  document.body.append(target);
  const harness = mount(Harness, { target, props: { source, services } });
  await settle();
  const get = (testid: string) => {
    const el = target.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
    if (!el) throw new Error(`no ${testid} in the viewer`);
    return el;
  };
  const rows = () => [...target.querySelectorAll<HTMLElement>('[data-testid="log-row"]')];
  const viewer: Viewer = {
    root: target,
    focus: (names) => {
      harness.focus(names);
      flushSync();
    },
    chosen: () => harness.chosen(),
    rows,
    positions: () => rows().map((r) => Number(r.dataset.pos)),
    row: (pos) => rows().find((r) => Number(r.dataset.pos) === pos),
    list: () => get('log-lines'),
    get,
    query: (testid) => target.querySelector<HTMLElement>(`[data-testid="${testid}"]`),
    async scrollTo(scrollTop) {
      const list = get('log-lines');
      list.scrollTop = scrollTop;
      list.dispatchEvent(new Event('scroll'));
      await settle();
    },
    maxScroll: () =>
      parseFloat(target.querySelector<HTMLElement>('.spacer')!.style.height) - VIEWPORT,
    async key(key, at = document.body, mods = {}) {
      at.dispatchEvent(
        new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...mods }),
      );
      await settle();
    },
    async click(el, mods = {}) {
      el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, ...mods }));
      await settle();
    },
    async type(text) {
      const input = get('log-search') as HTMLInputElement;
      input.value = text;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await settle();
    },
    close: () => {
      unmount(harness);
      target.remove();
    },
  };
  return viewer;
}
