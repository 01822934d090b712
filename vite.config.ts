/**
 * Three bundles from one source (entries src/index.ts and src/iife.ts):
 *   vite build                    -> dist/iamnn.js             ES module, tfjs packages left as peer imports
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
      return code.replace(/new URL\(("\.\/tfjs-backend-wasm[\w-]*\.wasm"), "" \+ import\.meta\.url\)/g, 'new URL($1, import.meta.url)');
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
  return {
    plugins: [shipWasm()],
    build: {
      outDir: 'dist',
      emptyOutDir: !iife && !standalone,
      sourcemap: true,
      target: 'es2022',
      minify: iife || standalone,
      lib: {
        entry: iife ? 'src/iife.ts' : 'src/index.ts',
        name: 'IamNN',
        formats: [iife ? 'iife' : 'es'],
        fileName: () => (iife ? 'iamnn.iife.js' : standalone ? 'iamnn.standalone.js' : 'iamnn.js'),
      },
      rollupOptions: {
        external: iife || standalone ? [] : [/^@tensorflow\//],
      },
    },
  };
});
