/** A file's text, by Vite's `?raw` suffix (inlined at build time). */
declare module '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?raw' {
  const text: string;
  export default text;
}
