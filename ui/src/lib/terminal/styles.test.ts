// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { mirrorStyles } from './styles';

const rules = () =>
  document.adoptedStyleSheets.map((s) => [...s.cssRules].map((r) => r.cssText).join(' '));
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  document.adoptedStyleSheets = [];
  document.body.replaceChildren();
});

describe('mirrorStyles', () => {
  it("applies the terminal's <style> elements as constructed sheets, as they change", async () => {
    const screen = document.createElement('div');
    document.body.append(screen);
    const theme = document.createElement('style');
    theme.textContent = '.a { color: red; }';
    screen.append(theme);

    const stop = mirrorStyles(screen);
    expect(rules()).toEqual(['.a { color: red; }']);

    theme.textContent = '.a { color: blue; }';
    const sizes = document.createElement('style');
    sizes.textContent = '.b { height: 100%; }';
    screen.append(sizes);
    await settle();
    expect(rules()).toEqual(['.a { color: blue; }', '.b { height: 100%; }']);

    sizes.remove();
    await settle();
    expect(rules()).toEqual(['.a { color: blue; }']);

    stop();
    expect(rules()).toEqual([]);
  });

  it("leaves the page's other sheets", () => {
    const other = new CSSStyleSheet();
    document.adoptedStyleSheets = [other];
    const screen = document.createElement('div');
    screen.append(Object.assign(document.createElement('style'), { textContent: '.a {}' }));
    const stop = mirrorStyles(screen);
    expect(document.adoptedStyleSheets.length).toBe(2);
    stop();
    expect(document.adoptedStyleSheets).toEqual([other]);
  });
});
