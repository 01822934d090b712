/**
 * Four builds from one source:
 *   vite build                    -> dist/iamnn.js             ES module, tfjs packages left as peer imports,
 *                                    dist/iamnn-{webgpu,wasm,cpu}.js  the same with one backend each (iamnn.js
 *                                                               imports all three; shared code in chunks),
 *                                    dist/iamnn-worker.js      and the worker-mode client (no tfjs in it)
 *   vite build --mode worker      -> dist/iamnn.worker.js      the worker-mode module worker, tfjs inside
 *   vite build --mode standalone  -> dist/iamnn.standalone.js  ES module with tfjs inside, for pages and
 *                                                               module workers without a bundler (a CDN)
 *   vite build --mode iife        -> dist/iamnn.iife.js        <script> bundle exposing window.IamNN, tfjs inside
 * All put the tfjs-backend-wasm binaries (plain, SIMD, threaded SIMD) beside themselves in dist/, where the
 * runtime looks first.
 * `vite --config demo/vite.config.ts` serves the demo (npm run demo).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, minifySync, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
// The ES module entries (package.json's exports): every backend, one backend each, the worker-mode client.
// src/index.ts imports the single-backend ones for their side effect alone; package.json's sideEffects names
// them, or the build would drop those imports as unused.
const ESM_ENTRIES = {
  iamnn: 'src/index.ts',
  'iamnn-webgpu': 'src/webgpu.ts',
  'iamnn-wasm': 'src/wasm.ts',
  'iamnn-cpu': 'src/cpu.ts',
  'iamnn-worker': 'src/worker-client.ts',
};
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
// The threaded build's factory file, which src/backend-wasm.ts loads as text (`?raw`) for tfjs's pthread workers
const THREADED_FACTORY = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';

function shipWasm(): Plugin {
  return {
    name: 'iamnn-ship-wasm',
    // Vite rewrites `new URL('./x.wasm', import.meta.url)` to `new URL('./x.wasm', "" + import.meta.url)`
    // when the file is absent at build time; restore the canonical form, which an app's bundler
    // recognises and copies as an asset.
    renderChunk(code) {
      return code.replace(/new URL\(("\.\/(?:tfjs-backend-wasm[\w-]*\.wasm|iamnn\.worker\.js)"), "" \+ import\.meta\.url\)/g, 'new URL($1, import.meta.url)');
    },
    generateBundle() {
      for (const fileName of WASM_FILES) {
        this.emitFile({ type: 'asset', fileName, source: readFileSync(join(wasmDir, fileName)) });
      }
    },
  };
}

/**
 * Minify the threaded factory file's text (54 KiB as published, 32 after; gzip 12 -> 9), a lazy chunk of the ES
 * module entries and inlined in the self-contained bundles. Its top-level `var WasmBackendModuleThreadedSimd`,
 * which the workers read, keeps its name.
 */
function minifyThreadedFactoryText(): Plugin {
  return {
    name: 'iamnn-minify-threaded-factory-text',
    enforce: 'pre', // before Vite's own ?raw loader, so the file is read once, here
    load(id) {
      if (!id.endsWith('/tfjs-backend-wasm-threaded-simd.js?raw')) return null;
      const { code, errors } = minifySync('threaded-simd.js', readFileSync(id.slice(0, -'?raw'.length), 'utf8'));
      if (errors.length || !code.includes('var WasmBackendModuleThreadedSimd=')) throw new Error(`minifying ${THREADED_FACTORY}: ${errors.map((e) => e.message).join('; ') || 'its top-level name changed'}`);
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

export default defineConfig(({ mode }) => {
  const iife = mode === 'iife';
  const standalone = mode === 'standalone';
  const worker = mode === 'worker';
  const selfContained = iife || standalone || worker;
  return {
    plugins: [shipWasm(), minifyThreadedFactoryText()],
    build: {
      outDir: 'dist',
      emptyOutDir: !selfContained,
      sourcemap: true,
      target: 'es2022',
      minify: selfContained,
      lib: {
        entry: iife ? 'src/iife.ts' : worker ? 'src/worker.ts' : standalone ? 'src/index.ts' : ESM_ENTRIES,
        name: 'IamNN',
        formats: [iife ? 'iife' : 'es'],
        fileName: (_format, entry) => (iife ? 'iamnn.iife.js' : standalone ? 'iamnn.standalone.js' : worker ? 'iamnn.worker.js' : `${entry}.js`),
      },
      rollupOptions: {
        // one file each, the threaded factory's text inside (the ES module entries keep it a lazy chunk)
        output: { codeSplitting: !selfContained },
        // tfjs stays a peer import, but not the factory file's text: an app's bundler has no `?raw`
        external: selfContained ? [] : (id) => id.startsWith('@tensorflow/') && !id.endsWith('?raw'),
      },
    },
  };
});
