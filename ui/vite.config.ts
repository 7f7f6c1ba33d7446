import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/** xterm.js as the window's page allows it to run. Each fix must match exactly once, or the
 * build fails (another xterm.js version) rather than ship a terminal that breaks. */
const XTERM_FIXES: { why: string; pattern: RegExp; replacement: string }[] = [
  {
    // The window freezes Object.prototype (tauri.conf.json's freezePrototype), and in strict
    // code assigning an own `toString` to an object then throws (the "override mistake").
    // xterm.js's bundled copy of VS Code's KeyCodeUtils namespace does that once, as it loads:
    // define the property instead.
    why: 'own toString assignment',
    pattern: /\b(\w+)\.toString=(\w+);/g,
    replacement:
      'Object.defineProperty($1,"toString",{value:$2,writable:true,configurable:true,enumerable:true});',
  },
  {
    // The DOM renderer draws 24-bit colours as a `style` attribute, which the CSP's
    // `style-src 'self'` blocks (the text kept the default colour). Setting the same declaration
    // through the CSSOM is allowed.
    why: 'style attribute of a 24-bit colour',
    pattern: /_addStyle\((\w+),(\w+)\)\{\1\.setAttribute\("style",`\$\{\1\.getAttribute\("style"\)\|\|""\}\$\{\2\};`\)\}/g,
    replacement: '_addStyle($1,$2){$1.style.cssText+=$2+";"}',
  },
];

function xtermUnderStrictPage(): Plugin {
  return {
    name: 'xterm-under-strict-page',
    transform(code, id) {
      if (!id.includes('/@xterm/xterm/lib/xterm.mjs')) return null;
      for (const fix of XTERM_FIXES) {
        const found = code.match(fix.pattern)?.length ?? 0;
        if (found !== 1) this.error(`expected one ${fix.why} in xterm.js, found ${found}`);
        code = code.replace(fix.pattern, fix.replacement);
      }
      return { code, map: null };
    },
  };
}

// Tauri serves ui/dist from its own protocol: relative asset paths, no dev server in the build.
// Component tests mount Svelte in a DOM (happy-dom), so they need Svelte's browser build.
export default defineConfig({
  plugins: [svelte(), xtermUnderStrictPage()],
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  base: './',
  clearScreen: false,
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  test: { include: ['src/**/*.test.ts'] },
});
