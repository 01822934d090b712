/**
 * The tfjs-backend-wasm binaries beside this module in dist/. Written as `new URL('<file>', import.meta.url)` so
 * that an app's bundler (Vite, webpack 5, Parcel) copies them into its build and renames them consistently.
 */
export function wasmFiles(): Record<string, string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    // fetched only on a cross-origin isolated page (WASM threads)
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
  };
}
