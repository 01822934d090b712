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
 * All put the tfjs-backend-wasm binaries beside themselves in dist/, where the runtime looks first.
 * `vite --config demo/vite.config.ts` serves the demo (npm run demo).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

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
// The threaded build is never used (multithreading is disabled: it hangs setBackend in minified bundles).
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

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

export default defineConfig(({ mode }) => {
  const iife = mode === 'iife';
  const standalone = mode === 'standalone';
  const worker = mode === 'worker';
  const selfContained = iife || standalone || worker;
  return {
    plugins: [shipWasm()],
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
        external: selfContained ? [] : [/^@tensorflow\//],
      },
    },
  };
});
