/**
 * The tfjs-backend-wasm binaries beside this module in dist/. Written as `new URL('<file>', import.meta.url)` so
 * that an app's bundler (Vite, webpack 5, Parcel) copies them into its build and renames them consistently.
 */
export function wasmFiles(): Record<string, string> {
  const simd = new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href;
  return {
    'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': simd,
    // setWasmPaths wants all three names; the threaded binary is never fetched (threads are off).
    'tfjs-backend-wasm-threaded-simd.wasm': simd,
  };
}
