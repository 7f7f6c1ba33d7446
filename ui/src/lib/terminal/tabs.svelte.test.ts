import { describe, expect, it } from 'vitest';
import { Tabs } from './tabs.svelte';

describe('Tabs', () => {
  it('names each terminal service-N, a second one on the same replica with a number', () => {
    const tabs = new Tabs();
    const a = tabs.open('backend', 1);
    const b = tabs.open('backend', 2);
    const c = tabs.open('backend', 1);
    const d = tabs.open('redis', 1);
    expect([a, b, c, d].map((t) => t.name)).toEqual([
      'backend-1',
      'backend-2',
      'backend-1 (2)',
      'redis-1',
    ]);
    expect(new Set([a, b, c, d].map((t) => t.key)).size).toBe(4);
    // A freed name is taken again.
    tabs.close(a.key);
    expect(tabs.open('backend', 1).name).toBe('backend-1');
  });

  it('shows what it opens, and after a close the tab beside, or the logs', () => {
    const tabs = new Tabs();
    expect(tabs.active).toBeNull();
    const a = tabs.open('backend', 1);
    const b = tabs.open('redis', 1);
    const c = tabs.open('mongodb', 1);
    expect(tabs.active).toBe(c.key);

    tabs.show(b.key);
    tabs.close(b.key);
    expect(tabs.active).toBe(c.key);
    tabs.close(c.key);
    expect(tabs.active).toBe(a.key);
    // Closing a tab that is not shown leaves the shown one.
    const d = tabs.open('frontend', 1);
    tabs.close(a.key);
    expect(tabs.active).toBe(d.key);
    tabs.close(d.key);
    expect(tabs.active).toBeNull();
    expect(tabs.list).toEqual([]);
  });

  it('steps through the logs and the terminals in order, round', () => {
    const tabs = new Tabs();
    const a = tabs.open('backend', 1);
    const b = tabs.open('redis', 1);
    tabs.step(1);
    expect(tabs.active).toBeNull();
    tabs.step(1);
    expect(tabs.active).toBe(a.key);
    tabs.step(-1);
    tabs.step(-1);
    expect(tabs.active).toBe(b.key);
  });
});
