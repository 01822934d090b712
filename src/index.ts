/**
 * IamNN for the web: the ES module entry (src/iife.ts is the `<script>` one).
 *
 *   import { load } from 'iamnn';
 *   const model = await load('/models/cifar10/model.json');
 *   const { label, iterations, flops } = await model.classify(imgElement);
 */
import { setDefaultWasmPaths } from './model';

// The .wasm binaries ship beside this module in dist/. Written as `new URL('<file>', import.meta.url)`
// so that an app's bundler (Vite, webpack 5, Parcel) copies them into its build as assets too.
const simd = new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href;
setDefaultWasmPaths({
  'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
  'tfjs-backend-wasm-simd.wasm': simd,
  // setWasmPaths wants all three names; the threaded binary is never fetched (threads are off).
  'tfjs-backend-wasm-threaded-simd.wasm': simd,
});

export * from './api';
