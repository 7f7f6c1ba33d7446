// xterm.js's DOM renderer writes the CSS it computes (theme colours, cell sizes, the scrollbar)
// into <style> elements it adds under the terminal's screen. The window's CSP (style-src 'self',
// no 'unsafe-inline') blocks those, and a terminal without them draws nothing legible. Rather
// than weaken the CSP for the whole page, their text is applied as constructed stylesheets,
// which the CSP leaves to scripts the page already trusts. Only xterm.js writes these elements:
// the output it draws goes into text nodes.

/** Mirrors the <style> children of `screen` into `document.adoptedStyleSheets` while they come,
 * change and go; the returned function stops and removes the mirrored sheets. */
export function mirrorStyles(screen: HTMLElement): () => void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const adopt = (add: CSSStyleSheet[], remove: CSSStyleSheet[]) => {
    const gone = new Set(remove);
    document.adoptedStyleSheets = [
      ...document.adoptedStyleSheets.filter((s) => !gone.has(s)),
      ...add,
    ];
  };
  const sync = () => {
    const present = [...screen.children].filter(
      (e): e is HTMLStyleElement => e instanceof HTMLStyleElement,
    );
    const added: CSSStyleSheet[] = [];
    for (const style of present) {
      let sheet = sheets.get(style);
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheets.set(style, sheet);
        added.push(sheet);
        observer.observe(style, { childList: true, characterData: true, subtree: true });
      }
      sheet.replaceSync(style.textContent ?? '');
    }
    const removed = [...sheets].filter(([style]) => !present.includes(style));
    for (const [style] of removed) sheets.delete(style);
    adopt(
      added,
      removed.map(([, sheet]) => sheet),
    );
  };
  // The screen's own children (its rows live a level below, unobserved) and each style's text.
  const observer = new MutationObserver(sync);
  observer.observe(screen, { childList: true });
  sync();
  return () => {
    observer.disconnect();
    adopt([], [...sheets.values()]);
    sheets.clear();
  };
}
