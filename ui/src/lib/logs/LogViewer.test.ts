// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_SCROLL_HEIGHT } from './geometry';
import { ROW, VIEWPORT, choose, render, settle, wait, type Viewer } from './testing/dom';
import { MemorySource, type Seed } from './testing/memory-source';
import type { ViewStats } from './source';

const SERVICES = ['db', 'api', 'web'];
const numbered = (pos: number): Seed => ({ service: SERVICES[pos % 3], text: `line ${pos}` });
const VISIBLE = VIEWPORT / ROW;

let viewer: Viewer | undefined;
afterEach(() => {
  viewer?.close();
  viewer = undefined;
});

async function open(source: MemorySource, services = SERVICES): Promise<Viewer> {
  viewer = await render(source, services);
  return viewer;
}

/** The position of the row at the top edge of an unscaled viewport. */
function topPos(v: Viewer): number {
  const row = Math.floor(v.list().scrollTop / ROW);
  return Number(v.rows().find((r) => Number(r.dataset.row) === row)!.dataset.pos);
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('virtualization', () => {
  it('holds a million lines with only the visible rows in the DOM', async () => {
    const source = new MemorySource(numbered, 1_000_000);
    const v = await open(source);

    // Following: the last lines show.
    expect(v.rows().length).toBeLessThan(100);
    expect(v.positions()).toEqual(expect.arrayContaining(range(999_970, 999_999)));
    expect(v.row(999_999)!.textContent).toContain('line 999999');

    // 20M px of rows do not fit in a browser: the scroll range is scaled.
    expect(v.maxScroll() + VIEWPORT).toBe(MAX_SCROLL_HEIGHT);

    // Dragging the scrollbar to the middle shows the middle rows, and pauses.
    await v.scrollTo(v.maxScroll() / 2);
    const middle = Math.floor((1_000_000 * ROW - VIEWPORT) / 2 / ROW);
    expect(v.rows().length).toBeLessThan(100);
    expect(v.positions()).toEqual(expect.arrayContaining(range(middle, middle + VISIBLE - 1)));
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');

    // The top.
    await v.scrollTo(0);
    expect(v.positions().slice(0, VISIBLE)).toEqual(range(0, VISIBLE - 1));

    // The end again: the last rows, and following resumes.
    await v.scrollTo(v.maxScroll());
    expect(v.rows().length).toBeLessThan(100);
    expect(v.positions()).toEqual(expect.arrayContaining(range(999_970, 999_999)));
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');

    // The viewer never asked for more than a few screens of rows at once.
    expect(Math.max(...source.windows.map((w) => w.count))).toBeLessThan(4 * VISIBLE);
  });

  it('wheels by content pixels when the range is scaled', async () => {
    const v = await open(new MemorySource(numbered, 1_000_000));
    await v.scrollTo(v.maxScroll() / 2);
    const before = v.positions()[8];
    v.list().dispatchEvent(
      new WheelEvent('wheel', { deltaY: 3 * ROW, bubbles: true, cancelable: true }),
    );
    await settle();
    expect(v.positions()[8]).toBe(before + 3);
  });

  it('expands JSON rows pretty-printed and keeps the rows below them in place', async () => {
    const source = new MemorySource(
      (pos) =>
        pos === 3
          ? { service: 'api', text: '{"msg":"ready","port":8080}', json: true }
          : numbered(pos),
      200,
    );
    const v = await open(source);
    await v.scrollTo(0);
    const spacer = v.root.querySelector<HTMLElement>('.spacer')!;
    expect(spacer.style.height).toBe(`${200 * ROW}px`);

    await v.click(v.row(3)!.querySelector('[data-testid="log-expand"]')!);
    const json = v.row(3)!.querySelector('[data-testid="log-json"]')!;
    expect(json.textContent).toBe('{\n  "msg": "ready",\n  "port": 8080\n}');
    expect(v.row(3)!.querySelector('button')!.getAttribute('aria-expanded')).toBe('true');
    // Four more lines of height; the rows after it still draw, fewer of them.
    expect(spacer.style.height).toBe(`${(200 + 4) * ROW}px`);
    expect(v.positions()).toEqual(range(0, VISIBLE - 4 - 1 + 8));

    // Evicting rows before it keeps it expanded, on the same line.
    source.evict(2);
    await settle();
    expect(v.row(3)!.dataset.row).toBe('1');
    expect(v.row(3)!.querySelector('[data-testid="log-json"]')).not.toBeNull();
    expect(spacer.style.height).toBe(`${(198 + 4) * ROW}px`);

    await v.click(v.row(3)!.querySelector('[data-testid="log-expand"]')!);
    expect(v.row(3)!.querySelector('[data-testid="log-json"]')).toBeNull();
    expect(spacer.style.height).toBe(`${198 * ROW}px`);
  });
});

describe('follow and pause', () => {
  it('follows growth, pauses on scrolling up, counts new lines and jumps back', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    expect(Math.max(...v.positions())).toBe(999);

    const asked = source.windows.length;
    source.append(50);
    await settle();
    expect(Math.max(...v.positions())).toBe(1049);
    expect(v.list().scrollTop).toBe(v.maxScroll());
    // The new lines came with the report: no window was asked for.
    expect(source.windows.length).toBe(asked);

    await v.scrollTo(v.list().scrollTop - 10 * ROW);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');
    const shown = topPos(v);
    source.append(30);
    await settle();
    expect(topPos(v)).toBe(shown);
    expect(v.get('log-new-lines').textContent).toContain('30 new lines');

    await v.click(v.get('log-new-lines'));
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');
    expect(Math.max(...v.positions())).toBe(1079);
    expect(v.list().scrollTop).toBe(v.maxScroll());
    expect(v.query('log-new-lines')).toBeNull();
  });

  it("draws a report's new length and its rows in one change", async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    const frames: { height: string; last: number }[] = [];
    const spacer = v.list().querySelector<HTMLElement>('.spacer')!;
    const observer = new MutationObserver(() =>
      frames.push({ height: spacer.style.height, last: Math.max(...v.positions()) }),
    );
    observer.observe(v.list(), { subtree: true, childList: true, attributes: true });
    source.append(1);
    await settle();
    observer.disconnect();
    // Every change the report made shows the new line: none shows the taller spacer first.
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.last === 1000)).toBe(true);
    expect(spacer.style.height).toBe(`${1001 * ROW}px`);
  });

  it('takes the newest of a burst from the report and fetches nothing', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    const asked = source.windows.length;
    source.append(5000); // more than a report carries: only the newest rows come
    await settle();
    expect(Math.max(...v.positions())).toBe(5999);
    expect(v.positions()).toEqual(expect.arrayContaining(range(6000 - VISIBLE, 5999)));
    expect(source.windows.length).toBe(asked);
  });

  it('moves to new lines only once it has them, so the bottom is never blank', async () => {
    const source = new MemorySource(numbered, 1000);
    source.tailLimit = 0; // reports bring no rows: the viewer fetches them
    const v = await open(source);
    // Hold the next window back, as a slow IPC round trip would.
    const window = source.window.bind(source);
    let release = () => {};
    source.window = (start, count, evicted) =>
      new Promise((resolve) => (release = () => resolve(window(start, count, evicted))));
    source.append(50);
    await settle();
    const bottomRow = Math.floor((v.list().scrollTop + VIEWPORT - 1) / ROW);
    expect(v.rows().map((r) => Number(r.dataset.row))).toContain(bottomRow);
    expect(Math.max(...v.positions())).toBe(999);
    release();
    await settle();
    expect(Math.max(...v.positions())).toBe(1049);
    expect(v.list().scrollTop).toBe(v.maxScroll());
  });

  it('skips a report older than one it took: a late one cannot take the view back', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    const reports: ViewStats[] = [];
    source.subscribe((s) => reports.push(s));
    source.evict(5);
    source.append(10);
    await settle();
    const shown = v.positions();
    expect(Math.max(...shown)).toBe(1009);
    source.redeliver(reports[0]); // the eviction's report, late through an older channel
    await settle();
    expect(v.positions()).toEqual(shown);
  });

  it("takes a new view's report that came before the view's own answer", async () => {
    const source = new MemorySource(numbered, 0);
    const v = await open(source);
    let release = () => {};
    source.answerHeld = new Promise((r) => (release = r));
    v.focus(['api']);
    await settle();
    // The view is set in the shell; its lines are reported while the answer is on its way.
    source.append(6);
    await settle();
    release();
    await settle();
    expect(v.positions()).toEqual([1, 4]);
  });

  it('numbers fetched rows as its own while evictions are still unreported', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    const aligned = (shift: number) =>
      v.rows().every((r) => Number(r.dataset.pos) === Number(r.dataset.row) + shift);
    await v.scrollTo(100 * ROW);
    source.evict(10); // reported: row r now shows line r + 10
    await settle();
    source.setLive(false); // reports held back, as while hidden or still on their way
    source.evict(40);
    await v.scrollTo(300 * ROW); // rows it has not got: fetched while the source counts 50
    expect(v.positions()).toContain(310);
    expect(aligned(10)).toBe(true);
    source.setLive(true);
    await settle();
    expect(aligned(50)).toBe(true);
    expect(topPos(v)).toBe(310);
  });

  it('keeps a paused viewport on the same lines as old ones are evicted, and says so', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    expect(v.query('log-dropped')).toBeNull();
    await v.scrollTo(100 * ROW);
    expect(topPos(v)).toBe(100);

    source.evict(40);
    await settle();
    expect(topPos(v)).toBe(100);
    expect(v.list().scrollTop).toBe(60 * ROW);
    expect(v.get('log-dropped').textContent).toContain('40 older lines were dropped');

    // Lines evicted past the viewport: it shows the oldest line still kept.
    source.evict(100);
    await settle();
    expect(topPos(v)).toBe(140);
    expect(v.get('log-dropped').textContent).toContain('140 older lines');
  });

  it('stays at the bottom while following through eviction', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    source.append(100);
    source.evict(100);
    await settle();
    expect(Math.max(...v.positions())).toBe(1099);
    expect(Math.min(...v.positions())).toBeGreaterThan(1099 - VISIBLE - 10);
  });

  it('f and the follow button toggle following', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    const shown = topPos(v);
    await v.key('f');
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');
    source.append(5);
    await settle();
    expect(topPos(v)).toBe(shown);
    expect(v.get('log-new-lines').textContent).toContain('5 new lines');
    await v.click(v.get('log-follow'));
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');
    expect(Math.max(...v.positions())).toBe(1004);
  });
});

describe('filters', () => {
  const seeded = (pos: number): Seed => ({
    service: SERVICES[pos % 3],
    text: `line ${pos}`,
    stream: pos % 2 ? 'stderr' : 'stdout',
    level: (['info', 'warn', 'error', 'unknown'] as const)[pos % 4],
  });

  it('call setView with the filter chosen, and show only those lines', async () => {
    const source = new MemorySource(seeded, 600);
    const v = await open(source);
    const last = () => source.views[source.views.length - 1];
    expect(last()).toEqual({
      filter: { services: [], stream: null, min_level: null, since: null, until: null },
      search: null,
    });

    const chip = (name: string) =>
      v.get('log-service-filter').querySelector<HTMLElement>(`[data-service="${name}"]`)!;
    await v.click(chip('web'));
    await v.click(chip('db'));
    expect(last().filter.services).toEqual(['db', 'web']);
    expect(v.chosen()).toEqual(['web', 'db']);
    expect(chip('db').getAttribute('aria-pressed')).toBe('true');
    expect(chip('api').getAttribute('aria-pressed')).toBe('false');
    const shownServices = new Set(v.rows().map((r) => r.querySelector('.svc')!.textContent));
    expect(shownServices).toEqual(new Set(['db-1', 'web-1']));

    choose(v.get('log-stream'), 'stderr');
    await settle();
    expect(last().filter.stream).toBe('stderr');

    choose(v.get('log-level'), 'warn+');
    await settle();
    expect(last().filter).toEqual({
      services: ['db', 'web'],
      stream: 'stderr',
      min_level: 'warn',
      since: null,
      until: null,
    });
    for (const pos of v.positions()) expect(seeded(pos).level).toMatch(/warn|error/);

    await v.click(v.get('log-service-filter').querySelector('button')!); // All
    expect(last().filter.services).toEqual([]);
    expect(v.chosen()).toEqual([]);
  });

  it('can be focused on a service from outside (the services table)', async () => {
    const source = new MemorySource(seeded, 300);
    const v = await open(source);
    v.focus(['api']);
    await settle();
    expect(source.views[source.views.length - 1].filter.services).toEqual(['api']);
    expect(new Set(v.rows().map((r) => r.querySelector('.svc')!.textContent))).toEqual(
      new Set(['api-1']),
    );
  });

  it('say when there are no lines, and when the filters leave none', async () => {
    const source = new MemorySource(seeded, 0);
    const v = await open(source);
    expect(v.get('log-empty').textContent!.trim()).toBe('No log lines yet');
    source.append(3);
    await settle();
    expect(v.query('log-empty')).toBeNull();
    choose(v.get('log-level'), 'fatal+');
    await settle();
    expect(v.rows()).toEqual([]);
    expect(v.get('log-empty').textContent!.trim()).toBe('No lines match these filters');
  });

  it('toggles timestamps', async () => {
    const v = await open(new MemorySource(numbered, 10));
    expect(v.row(0)!.querySelector('.time')).toBeNull();
    await v.click(v.get('log-timestamps'));
    const time = v.row(0)!.querySelector('.time')!;
    expect(time.getAttribute('title')).toBe('2025-01-01T00:00:00.000000000Z');
    expect(time.textContent).toMatch(/^\d\d:\d\d:00\.000$/);
  });
});

describe('search', () => {
  // Rows 50, 150, … 950 hold the needle.
  const needles = (pos: number): Seed => ({
    service: SERVICES[pos % 3],
    text: pos % 100 === 50 ? `found the Needle at ${pos}` : `line ${pos}`,
  });

  it('counts, highlights, and goes to next/previous matches, wrapping', async () => {
    const source = new MemorySource(needles, 1000);
    const v = await open(source);
    await v.type('Needle');
    await v.key('Enter', v.get('log-search'));
    expect(source.views[source.views.length - 1].search).toEqual({
      pattern: 'Needle',
      mode: 'substring',
    });
    expect(v.get('log-match-count').textContent!.trim()).toBe('10 matching lines');

    // From the bottom (following), the next match wraps to the first.
    const current = () => Number(v.root.querySelector<HTMLElement>('.row.current')?.dataset.pos);
    expect(current()).toBe(50);
    const mark = v.row(50)!.querySelector('.match')!;
    expect(mark.textContent).toBe('Needle');
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');

    await v.click(v.get('log-next'));
    expect(current()).toBe(150);
    await v.click(v.get('log-prev'));
    expect(current()).toBe(50);
    await v.click(v.get('log-prev'));
    expect(current()).toBe(950);
    await v.key('n');
    expect(current()).toBe(50);
    await v.key('N');
    expect(current()).toBe(950);
  });

  it('passes the mode, and shows an invalid regex without breaking the view', async () => {
    const source = new MemorySource(needles, 1000);
    const v = await open(source);
    choose(v.get('log-search-mode'), 'Ignore case');
    await v.type('needle');
    await v.key('Enter', v.get('log-search'));
    expect(source.views[source.views.length - 1].search).toEqual({
      pattern: 'needle',
      mode: 'case_insensitive',
    });
    expect(v.get('log-match-count').textContent!.trim()).toBe('10 matching lines');

    choose(v.get('log-search-mode'), 'Regex');
    await v.type('needle(');
    await wait(300); // the typing pause
    expect(v.get('log-search-error').textContent).toContain('invalid regex');
    expect(v.get('log-search').getAttribute('aria-invalid')).toBe('true');
    expect(v.get('log-match-count').textContent!.trim()).toBe('');
    // The view still shows its lines, without the broken search.
    expect(v.rows().length).toBeGreaterThan(VISIBLE);
    expect(source.views[source.views.length - 1].search).toBeNull();

    await v.type('Needle|line 7');
    await wait(300);
    expect(v.query('log-search-error')).toBeNull();
    expect(source.views[source.views.length - 1].search).toEqual({
      pattern: 'Needle|line 7',
      mode: 'regex',
    });
  });

  const current = (v: Viewer) => v.root.querySelector<HTMLElement>('.row.current');

  /** Runs `meanwhile` after the source has answered a find and before the viewer has the answer,
   * as reports from a flood would. */
  function delayFind(source: MemorySource, meanwhile: () => void) {
    const find = source.find.bind(source);
    source.find = async (...args: Parameters<MemorySource['find']>) => {
      const row = await find(...args);
      meanwhile();
      return row;
    };
  }

  it('lands on the match though rows were evicted while the find was on its way', async () => {
    const source = new MemorySource(needles, 1000);
    const v = await open(source);
    delayFind(source, () => source.evict(7));
    await v.type('Needle');
    await v.key('Enter', v.get('log-search'));
    expect(current(v)?.dataset.pos).toBe('50');
    expect(current(v)!.querySelector('.match')!.textContent).toBe('Needle');
    expect(v.query('log-notice')).toBeNull();
  });

  it('says so when the match it found has left the buffer', async () => {
    const source = new MemorySource(needles, 1000);
    const v = await open(source);
    delayFind(source, () => source.evict(60));
    await v.type('Needle');
    await v.key('Enter', v.get('log-search'));
    expect(current(v)).toBeNull();
    expect(v.get('log-notice').textContent).toBe('The match scrolled out of the log buffer');
  });

  it('lands on a row it has, not on one whose report is still to come', async () => {
    const source = new MemorySource(needles, 1000);
    const v = await open(source);
    await v.type('Needle');
    await settle();
    await wait(300); // the typing pause: the search runs
    source.setLive(false); // the next report (with a new match at 1050) is still on its way
    source.append(100);
    await v.key('Enter', v.get('log-search'));
    expect(current(v)?.dataset.pos).toBe('50');
    expect(current(v)!.querySelector('.match')!.textContent).toBe('Needle');
  });

  it('says so when the current match leaves the buffer', async () => {
    const source = new MemorySource(needles, 1000);
    const v = await open(source);
    await v.type('Needle');
    await v.key('Enter', v.get('log-search'));
    expect(current(v)?.dataset.pos).toBe('50');
    source.evict(51);
    await settle();
    expect(current(v)).toBeNull();
    expect(v.get('log-notice').textContent).toBe('The match scrolled out of the log buffer');
  });
});

describe('stored history', () => {
  it('prepends older stored rows near the top, keeping the viewport on its lines, down to the first', async () => {
    const source = new MemorySource(numbered, 5000);
    source.restarted(3000);
    source.pageSize = 1000;
    const v = await open(source);
    expect(v.query('log-dropped')).toBeNull();
    await v.scrollTo(500 * ROW);
    expect(topPos(v)).toBe(3500);
    expect(v.query('log-history-start')).toBeNull();

    // Scrolled near the top: a page of 1000 older rows comes before, the same line stays on top.
    await v.scrollTo(10 * ROW);
    expect(topPos(v)).toBe(3010);
    expect(v.list().scrollTop).toBe(1010 * ROW);
    expect(v.row(3010)!.textContent).toContain('line 3010');

    // Up and up: the first stored line, and the top says the history begins.
    for (let i = 0; i < 5 && topPos(v) > 0; i++) await v.scrollTo(0);
    expect(topPos(v)).toBe(0);
    expect(v.row(0)!.textContent).toContain('line 0');
    expect(v.get('log-history-start').textContent).toContain('Beginning of the stored history');
  });

  it('moves a selection with its rows when older rows are prepended', async () => {
    const source = new MemorySource(numbered, 3000);
    source.restarted(2000);
    source.pageSize = 500;
    const v = await open(source);
    await v.scrollTo(100 * ROW);
    await v.click(v.row(2105)!);
    await v.scrollTo(0);
    expect(topPos(v)).toBe(2000);
    // The 500 rows before it came: the selected line is row 605 now.
    await v.scrollTo(600 * ROW);
    expect(topPos(v)).toBe(2100);
    expect(v.row(2105)!.classList).toContain('selected');
    expect(v.rows().filter((r) => r.classList.contains('selected'))).toHaveLength(1);
  });

  it("counts the history's matches and goes back into it, loading the rows it lands on", async () => {
    const needle = (pos: number): Seed => ({
      service: SERVICES[pos % 3],
      text: pos === 120 ? 'the stored needle' : `line ${pos}`,
    });
    const source = new MemorySource(needle, 5000);
    source.restarted(4000);
    source.pageSize = 1000;
    const v = await open(source);
    await v.type('needle');
    await v.key('Enter', v.get('log-search'));
    expect(v.get('log-match-count').textContent!.trim()).toBe('1 matching line');
    // From the bottom, the next match wraps to the first: in the history.
    const current = () => Number(v.root.querySelector<HTMLElement>('.row.current')?.dataset.pos);
    expect(current()).toBe(120);
    await v.key('End');
    await v.scrollTo(3000 * ROW);
    await v.click(v.get('log-prev'));
    expect(current()).toBe(120);
    expect(v.row(120)!.querySelector('.match')!.textContent).toBe('needle');
  });
});

describe('hostile text', () => {
  it('renders markup and control characters as inert text', async () => {
    const lines = [
      '<img src=x onerror=alert(1)>',
      '<script>alert(2)</script>',
      'bell\u0007 esc\u001b[31m cr\r nul\u0000 \u202eevil',
    ];
    const alert = vi.fn();
    vi.stubGlobal('alert', alert);
    const v = await open(new MemorySource((pos) => ({ service: 'web', text: lines[pos] }), 3));
    expect(v.row(0)!.querySelector('.text')!.textContent).toBe('<img src=x onerror=alert(1)>');
    expect(v.row(1)!.querySelector('.text')!.textContent).toBe('<script>alert(2)</script>');
    expect(document.querySelector('img')).toBeNull();
    expect(v.root.querySelector('script')).toBeNull();
    expect(v.row(2)!.querySelector('.text')!.textContent).toBe(
      'bell\u2407 esc\u241b[31m cr\u240d nul\u2400 \ufffdevil',
    );
    await settle();
    expect(alert).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
  });

  it('copies what it shows: no raw direction override or control character', async () => {
    const writeText = vi.fn(async (_text: string) => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    const text = 'a\u202eb\u0085c\u2028d\u2066e';
    const v = await open(new MemorySource(() => ({ service: 'web', text }), 1));
    const shown = 'a\ufffdb\ufffdc\u2424d\ufffde';
    expect(v.row(0)!.querySelector('.text')!.textContent).toBe(shown);
    await v.click(v.row(0)!);
    await v.key('c', document.body, { ctrlKey: true });
    expect(writeText).toHaveBeenCalledWith(`web-1 | ${shown}\n`);
    vi.unstubAllGlobals();
  });

  it('shows the start of a long line, says how much more there is, and copies all of it', async () => {
    const writeText = vi.fn(async (_text: string) => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    vi.stubGlobal('ClipboardItem', undefined);
    const long = `start ${'x'.repeat(2_000_000)} end`;
    const source = new MemorySource((pos) => ({ service: 'web', text: pos === 1 ? long : 'short' }), 3);
    const v = await open(source);
    const row = v.row(1)!;
    expect(row.querySelector('.text')!.textContent!.length).toBeLessThanOrEqual(8192);
    expect(row.querySelector('[data-testid="log-more"]')!.textContent).toBe('… 2.0 MB more');
    expect(v.row(0)!.querySelector('[data-testid="log-more"]')).toBeNull();
    await v.click(row.querySelector('[data-testid="log-copy-line"]')!);
    expect(writeText).toHaveBeenCalledWith(long);
    expect(v.get('log-notice').textContent).toBe('Copied the whole line (2.0 MB)');
    vi.unstubAllGlobals();
  });
});

describe('ANSI styles', () => {
  it('become classes for base colours and attributes, inline CSSOM colours for the rest', async () => {
    const style = {
      fg: null,
      bg: null,
      bold: false,
      dim: false,
      italic: false,
      underline: false,
      inverse: false,
      strike: false,
    };
    const text = 'RED 208 RGB INV US';
    const v = await open(
      new MemorySource(
        () => ({
          service: 'web',
          text,
          spans: [
            { start: 0, end: 3, style: { ...style, fg: { palette: 1 }, bold: true } },
            { start: 4, end: 7, style: { ...style, fg: { palette: 208 }, bg: { palette: 4 } } },
            { start: 8, end: 11, style: { ...style, bg: { rgb: [1, 2, 3] }, italic: true } },
            { start: 12, end: 15, style: { ...style, inverse: true, dim: true } },
            { start: 16, end: 18, style: { ...style, underline: true, strike: true } },
          ],
        }),
        1,
      ),
    );
    const runs = [...v.row(0)!.querySelectorAll<HTMLElement>('.text > span')];
    const byText = (t: string) => runs.find((r) => r.textContent === t)!;
    expect(byText('RED').className).toBe('fg-1 b');
    expect(byText('208').className).toBe('bg-4');
    expect(byText('208').style.color).toBe('rgb(255, 135, 0)');
    expect(byText('RGB').className).toBe('i');
    expect(byText('RGB').style.backgroundColor).toBe('rgb(1, 2, 3)');
    expect(byText('INV').className).toBe('fg-bg bg-fg d');
    expect(byText('US').className).toBe('u s');
    expect(runs.map((r) => r.textContent).join('')).toBe(text);
    // No style attribute written as markup: colours go through CSSOM only.
    expect(byText('RED').style.color).toBe('');
  });
});

describe('selection, copy and export', () => {
  it('copies the clicked through shift-clicked rows with their prefixes', async () => {
    const writeText = vi.fn(async (_text: string) => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    const v = await open(new MemorySource(numbered, 20));
    await v.click(v.row(3)!.querySelector('.text')!);
    await v.click(v.row(5)!, { shiftKey: true });
    expect(
      v
        .rows()
        .filter((r) => r.classList.contains('selected'))
        .map((r) => r.dataset.pos),
    ).toEqual(['3', '4', '5']);
    expect(v.row(4)!.getAttribute('aria-selected')).toBe('true');

    await v.key('c', document.body, { ctrlKey: true });
    expect(writeText).toHaveBeenCalledWith('db-1  | line 3\napi-1 | line 4\nweb-1 | line 5\n');
    expect(v.get('log-notice').textContent).toBe('Copied 3 lines');
    vi.unstubAllGlobals();
  });

  it('copies a selection longer than the rows held, fetching it', async () => {
    const writeText = vi.fn(async (_text: string) => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    vi.stubGlobal('ClipboardItem', undefined);
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    await v.click(v.row(999)!);
    await v.key('Home', v.list());
    await v.click(v.row(0)!, { shiftKey: true });
    await v.click(v.get('log-copy'));
    const text = writeText.mock.calls[0][0];
    expect(text.split('\n').length).toBe(1001);
    expect(text.startsWith('db-1  | line 0\n')).toBe(true);
    expect(text.endsWith('db-1  | line 999\n')).toBe(true);
    expect(source.windows[source.windows.length - 1]).toEqual({ start: 0, count: 1000 });
    expect(v.get('log-notice').textContent).toBe('Copied 1000 lines');
    vi.unstubAllGlobals();
  });

  it('exports the view and shows where it went', async () => {
    const source = new MemorySource(numbered, 20);
    const v = await open(source);
    await v.click(v.get('log-export'));
    expect(v.get('log-export-path').textContent).toBe('Exported to /tmp/berth-logs.txt');
    source.exportPath = null; // the user cancelled the dialog
    await v.click(v.get('log-export'));
    expect(v.query('log-export-path')).toBeNull();
  });
});

describe('keyboard', () => {
  it('/ focuses search, keys typed there stay there, Esc clears it and leaves', async () => {
    const source = new MemorySource(numbered, 100);
    const v = await open(source);
    const search = v.get('log-search') as HTMLInputElement;
    await v.key('/');
    expect(document.activeElement).toBe(search);

    await v.key('f', search);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');

    await v.type('line 4');
    await v.key('Enter', search);
    expect(source.views[source.views.length - 1].search?.pattern).toBe('line 4');
    await v.key('Escape', search);
    expect(search.value).toBe('');
    expect(document.activeElement).toBe(v.list());
    expect(source.views[source.views.length - 1].search).toBeNull();
  });

  it('Esc outside the search box clears the search and the selection', async () => {
    const source = new MemorySource(numbered, 100);
    const v = await open(source);
    await v.type('line 9');
    await v.key('Enter', v.get('log-search'));
    await v.click(v.row(95)!);
    expect(v.row(95)!.classList.contains('selected')).toBe(true);
    await v.key('Escape');
    expect((v.get('log-search') as HTMLInputElement).value).toBe('');
    expect(source.views[source.views.length - 1].search).toBeNull();
    expect(v.root.querySelector('.row.selected')).toBeNull();
  });

  it('leaves keys another part of the app handled', async () => {
    const v = await open(new MemorySource(numbered, 100));
    const menu = document.createElement('div');
    menu.addEventListener('keydown', (e) => e.preventDefault());
    document.body.append(menu);
    await v.key('f', menu);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');
    await v.key('f');
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');
    menu.remove();
  });

  it('scrolls the list with the keyboard', async () => {
    const v = await open(new MemorySource(numbered, 1000));
    await v.key('Home', v.list());
    expect(topPos(v)).toBe(0);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');
    await v.key('PageDown', v.list());
    expect(topPos(v)).toBe(VISIBLE - 1);
    await v.key('ArrowDown', v.list());
    expect(topPos(v)).toBe(VISIBLE);
    await v.key('End', v.list());
    expect(Math.max(...v.positions())).toBe(999);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');
    // Paused at the bottom, End follows again.
    await v.key('f');
    await v.key('End', v.list());
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('true');
  });
});

describe('lifecycle', () => {
  it('unsubscribes when unmounted', async () => {
    const source = new MemorySource(numbered, 10);
    const v = await open(source);
    expect(source.subscribers).toBe(1);
    v.close();
    viewer = undefined;
    expect(source.subscribers).toBe(0);
  });

  /** Hides or shows the window, as minimizing it or closing it to the tray does. */
  async function setWindow(state: 'hidden' | 'visible') {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    document.dispatchEvent(new Event('visibilitychange'));
    await settle();
  }

  it('takes no reports while the window is hidden, and catches up in one when it shows', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    try {
      await setWindow('hidden');
      expect(source.live).toBe(false);
      source.append(30);
      source.evict(10);
      source.append(20);
      await settle();
      expect(Math.max(...v.positions())).toBe(999);

      const asked = source.windows.length;
      await setWindow('visible');
      expect(source.live).toBe(true);
      expect(Math.max(...v.positions())).toBe(1049);
      expect(v.list().scrollTop).toBe(v.maxScroll());
      expect(v.list().querySelector<HTMLElement>('.spacer')!.style.height).toBe(`${1040 * ROW}px`);
      expect(source.windows.length).toBe(asked);
    } finally {
      await setWindow('visible');
    }
  });

  it('keeps a paused viewport on its lines across a hidden spell, and counts what came', async () => {
    const source = new MemorySource(numbered, 1000);
    const v = await open(source);
    try {
      await v.scrollTo(100 * ROW);
      await setWindow('hidden');
      source.evict(40);
      source.append(25);
      await setWindow('visible');
      expect(topPos(v)).toBe(100);
      expect(v.get('log-new-lines').textContent).toContain('25 new lines');
    } finally {
      await setWindow('visible');
    }
  });
});

describe("Berth's own rows", () => {
  it('read apart from container output, and the stream filter picks them', async () => {
    const seed = (pos: number): Seed =>
      pos === 1
        ? { service: 'web', text: 'Syncing service "web" after 1 changes were detected', stream: 'berth' }
        : { service: 'web', text: `container line ${pos}` };
    const source = new MemorySource(seed, 3);
    const v = await open(source);
    const own = v.row(1)!;
    expect(own.classList.contains('berth')).toBe(true);
    expect(own.querySelector('[data-testid=log-berth]')!.textContent).toBe('berth');
    expect(own.querySelector('.svc')!.textContent).toBe('web');
    expect(v.row(0)!.querySelector('[data-testid=log-berth]')).toBeNull();
    expect(v.row(0)!.classList.contains('berth')).toBe(false);

    choose(v.get('log-stream'), "Berth's own");
    await settle();
    expect(v.positions()).toEqual([1]);
  });
});

describe('markers', () => {
  // Rows 100, 300, … 900 are markers: what happened to a container, told by Berth.
  const marked = (pos: number): Seed =>
    pos % 200 === 100
      ? {
          service: SERVICES[pos % 3],
          text: pos === 500 ? '<img src=x onerror="alert(1)"> exited (3)' : `started ${pos}`,
          stream: 'berth',
          marker: pos === 500 ? 'crashed' : 'started',
        }
      : numbered(pos);

  it('draws a marker as a row of its own, its text as text', async () => {
    const source = new MemorySource(marked, 1000);
    const v = await open(source);
    await v.click(v.get('log-next-marker'));
    await v.click(v.get('log-next-marker'));
    await v.click(v.get('log-next-marker'));
    const row = v.row(500)!;
    expect(row.classList.contains('marker')).toBe(true);
    expect(row.dataset.marker).toBe('crashed');
    expect(row.querySelector('[data-testid="log-marker"]')!.getAttribute('title')).toBe('Crashed');
    expect(row.querySelector('img')).toBeNull();
    expect(row.querySelector('.text')!.textContent).toBe('<img src=x onerror="alert(1)"> exited (3)');
    expect(v.row(501)!.classList.contains('marker')).toBe(false);
  });

  it('jumps to the next and previous marker with ] and [ and the buttons, wrapping', async () => {
    const source = new MemorySource(marked, 1000);
    const v = await open(source);
    const current = () => Number(v.root.querySelector<HTMLElement>('.row.current')?.dataset.pos);
    // From the bottom (following), the next marker wraps to the first.
    await v.key(']');
    expect(current()).toBe(100);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');
    await v.key(']');
    expect(current()).toBe(300);
    await v.key('[');
    expect(current()).toBe(100);
    await v.click(v.get('log-prev-marker'));
    expect(current()).toBe(900);
    await v.click(v.get('log-next-marker'));
    expect(current()).toBe(100);
    // Not while typing in the search box.
    await v.key(']', v.get('log-search'));
    expect(current()).toBe(100);
  });

  it('scrolls to and highlights a marker a report asks it to reveal', async () => {
    const source = new MemorySource(marked, 1000);
    const v = await open(source);
    expect(v.row(500)).toBeUndefined();
    source.reveal(500);
    await settle();
    const row = v.row(500)!;
    expect(row.classList.contains('current')).toBe(true);
    expect(v.get('log-follow').getAttribute('aria-pressed')).toBe('false');
    const top = v.list().scrollTop;
    const y = Number(row.dataset.row) * ROW;
    expect(y >= top && y + ROW <= top + VIEWPORT).toBe(true);
  });
});

describe('history on disk', () => {
  it('shows why the history stopped while reports say so, as text', async () => {
    const source = new MemorySource(numbered, 100);
    const v = await open(source);
    expect(v.query('log-history-stopped')).toBeNull();
    source.historyStopped = 'The log history in /d stopped: <b>No space left</b>.';
    source.append(1);
    await settle();
    expect(v.get('log-history-stopped').textContent).toBe(
      'The log history in /d stopped: <b>No space left</b>.',
    );
    expect(v.get('log-history-stopped').querySelector('b')).toBeNull();
    source.historyStopped = null;
    source.append(1);
    await settle();
    expect(v.query('log-history-stopped')).toBeNull();
  });
});
