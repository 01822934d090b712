/**
 * The WASM backend's driver: tfjs-backend-wasm single-threaded (SIMD when the browser has it: the threaded
 * build hangs setBackend in minified bundles), its .wasm binaries where `wasmPaths` says, and the reason a
 * failed init failed, which tfjs only logs. Enabled by the `iamnn/wasm` entry and the bundles with every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// Not re-exported by the package; the same module instance its index uses (no exports map to forbid it).
import { resetWasmPath } from '@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js';
import { enableBackend, type BackendOptions } from './backend';
import { setDefaultWasmPaths } from './model';

/**
 * Why the SIMD .wasm binary could not be used, found by fetching it again. Names the URL and the cause (an
 * HTTP status, a network or CORS refusal, or content that is not WebAssembly).
 */
async function wasmFetchProblem(paths: BackendOptions['wasmPaths']): Promise<string> {
  const file = 'tfjs-backend-wasm-simd.wasm';
  const url = typeof paths === 'string' ? paths + file : paths?.[file];
  if (!url) return 'could not fetch or compile the .wasm binaries (no wasmPaths: tfjs looked beside the page)';
  try {
    const res = await fetch(url);
    if (!res.ok) return `GET ${url}: HTTP ${res.status}`;
    const head = new Uint8Array(await res.arrayBuffer()).subarray(0, 4);
    const isWasm = head[0] === 0x00 && head[1] === 0x61 && head[2] === 0x73 && head[3] === 0x6d; // "\0asm"
    return isWasm ? `${url} downloads but did not instantiate (see the console)` : `${url} is not WebAssembly (content-type ${res.headers.get('content-type')})`;
  } catch (e) {
    return `GET ${url}: ${(e as Error).message} (offline, or another origin without CORS)`;
  }
}

/** Enable the WASM backend, its binaries at `defaultPaths` unless a load passes `wasmPaths`. */
export function enableWasm(defaultPaths: BackendOptions['wasmPaths']): void {
  if (defaultPaths) setDefaultWasmPaths(defaultPaths);
  enableBackend('wasm', {
    prepare(opts) {
      if (typeof WebAssembly === 'undefined') return 'WebAssembly is not available';
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (opts.wasmPaths) setWasmPaths(opts.wasmPaths as string);
      return null;
    },
    // tfjs-backend-wasm refuses setWasmPaths for the rest of the page after a failed init ("already
    // initialized"): reset it, so a later load with corrected wasmPaths can try again
    reset: resetWasmPath,
    diagnose: async (opts) => `wasm failed to initialise: ${await wasmFetchProblem(opts.wasmPaths)} (set wasmPaths)`,
  });
}
