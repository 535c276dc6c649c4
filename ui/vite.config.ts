import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The app is served under any base path (behind an ingress prefix, kubectl port-forward, or /):
// every URL in the build is relative ('./assets/...'), and the code fetches 'api/...'.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline polyfill script and no data: URIs for assets: the CSP allows neither.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
