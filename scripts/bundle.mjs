#!/usr/bin/env node
// Bundles the CLI (dist/src/cli/main.js and everything it imports, dependencies included) into
// dist/bundle/: one entry file plus a chunk per dynamic import(), so a command loads only what
// it uses. Resolving and reading ~400 small ESM/CJS files was most of the CLI's start-up; one
// file per chunk is read and compiled in one go (and, on Node >= 22.1, from the compile cache:
// see bin/egresskit). The library (dist/src/index.js) is not bundled.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'bundle');
const SRC = join(ROOT, 'dist', 'src');

// Modules that find files next to themselves through import.meta.url (the UI's assets, the HAR
// import's worker script, package.json): they stay in dist/src and the bundle imports them there.
const LOCATED = ['ui/static-assets.js', 'flows/har-import-off-thread.js', 'version.js'].map((p) => join(SRC, p));

const keepLocated = {
  name: 'keep-located',
  setup(b) {
    b.onResolve({ filter: /\.js$/ }, (args) => {
      if (!args.importer.startsWith(SRC) || !args.path.startsWith('.')) return undefined;
      const abs = join(dirname(args.importer), args.path);
      if (!LOCATED.includes(abs)) return undefined;
      return { path: `./${relative(OUT, abs)}`, external: true };
    });
  },
};

// Node's built-in modules are taken with require(), not `import`. Importing a built-in as ESM
// builds its namespace by reading every export, getters included, and on Node 24 node:http's
// WebSocket/CloseEvent/MessageEvent getters load Node's internal undici (fetch) and zlib, node:tls's
// rootCertificates parses every root CA, node:crypto's webcrypto sets up Web Crypto: about a
// third of the CLI's start-up. require() returns the module object and runs no getter until used.
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!BUILTINS.has(args.path) || args.namespace === 'builtin') return undefined;
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
      return { path: args.path.replace(/^node:/, ''), namespace: 'builtin' };
    });
    // A CommonJS stand-in: esbuild then reads each imported name off the module object where
    // it is used (its __toESM copies property names, never values), so no getter runs early and
    // a name this Node lacks (zlib.zstdDecompress on Node 20) is undefined, as with `import`.
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require('node:${args.path}');\n`, loader: 'js' }));
  },
};

// prom-client requires @opentelemetry/api (62 KiB, ~4 ms to load) at start-up for exemplars,
// which egresskit never enables (enableExemplars is off on every metric): the bundle gets a
// stand-in with the two calls that code path makes, never reached while exemplars are off.
const noExemplars = {
  name: 'no-exemplars',
  setup(b) {
    b.onResolve({ filter: /^@opentelemetry\/api$/ }, () => ({ path: 'otel-stand-in', namespace: 'no-exemplars' }));
    b.onLoad({ filter: /.*/, namespace: 'no-exemplars' }, () => ({
      contents: 'module.exports = { trace: { getSpan: () => undefined }, context: { active: () => undefined } };\n',
      loader: 'js',
    }));
  },
};

// Chunk names carry a content hash: a previous build's would stay beside the new ones.
rmSync(OUT, { recursive: true, force: true });
const result = await build({
  // A --workers worker runs worker-main.js from beside workers-primary.js (cluster.setupPrimary):
  // in the bundle both sit in dist/bundle, sharing chunks.
  entryPoints: { egresskit: join(SRC, 'cli', 'main.js'), 'worker-main': join(SRC, 'server', 'worker-main.js') },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  sourcemap: 'linked',
  // The SQLite driver is a native addon (optional dependency): it must load from node_modules.
  // undici is imported with import() (address-pools.ts): a bundled CommonJS package imported
  // that way gets only a default export from esbuild, where Node gives it named ones too. It
  // loads from node_modules, as the library does.
  external: ['better-sqlite3', 'undici'],
  // CommonJS dependencies call require() for Node's own modules; an ESM chunk has no require.
  banner: { js: "import { createRequire as __egkRequire } from 'node:module'; const require = __egkRequire(import.meta.url);" },
  plugins: [keepLocated, builtinsByRequire, noExemplars],
  logLevel: 'warning',
  legalComments: 'none',
  metafile: true,
});
// Which sources each chunk holds: test/e2e/startup-modules.test.ts maps the chunks a forward
// proxy loaded back to the packages in them. Beside the bundle, not in it (not shipped).
writeFileSync(join(ROOT, 'dist', 'bundle-meta.json'), JSON.stringify(result.metafile));
