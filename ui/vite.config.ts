import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/** The window freezes Object.prototype (tauri.conf.json's freezePrototype), and in strict code
 * assigning an own `toString` to an object then throws (the "override mistake"). xterm.js's
 * bundled copy of VS Code's KeyCodeUtils namespace does that once, as it loads: define the
 * property instead. The build fails if the pattern is not found exactly once (another xterm.js
 * version), rather than ship a terminal that does not load. */
function xtermUnderFrozenPrototype(): Plugin {
  return {
    name: 'xterm-under-frozen-prototype',
    transform(code, id) {
      if (!id.includes('/@xterm/xterm/lib/xterm.mjs')) return null;
      const pattern = /\b(\w+)\.toString=(\w+);/g;
      const found = code.match(pattern)?.length ?? 0;
      if (found !== 1) {
        this.error(`expected one own toString assignment in xterm.js, found ${found}`);
      }
      const fixed = code.replace(
        pattern,
        'Object.defineProperty($1,"toString",{value:$2,writable:true,configurable:true,enumerable:true});',
      );
      return { code: fixed, map: null };
    },
  };
}

// Tauri serves ui/dist from its own protocol: relative asset paths, no dev server in the build.
// Component tests mount Svelte in a DOM (happy-dom), so they need Svelte's browser build.
export default defineConfig({
  plugins: [svelte(), xtermUnderFrozenPrototype()],
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  base: './',
  clearScreen: false,
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  test: { include: ['src/**/*.test.ts'] },
});
