/**
 * The WASM backend's driver: tfjs-backend-wasm with SIMD when the browser has it, on XNNPACK threads (the
 * threaded SIMD build) on a cross-origin isolated page, else single-threaded; its .wasm binaries where
 * `wasmPaths` says; and the reason a failed init failed, which tfjs only logs. A threaded init that fails or
 * times out falls back to single-threaded SIMD in the same load, and `info.wasmThreadsOff` says why.
 * Enabled by the `iamnn/wasm` entry and the bundles with every backend.
 */
/// <reference path="./raw-imports.d.ts" />
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// Not re-exported by the package; the same module instances its index uses (no exports map to forbid it).
import { resetWasmPath } from '@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js';
import threadedFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import { enableBackend, type BackendOptions } from './backend';

const SIMD_FILE = 'tfjs-backend-wasm-simd.wasm';
const THREADED_FILE = 'tfjs-backend-wasm-threaded-simd.wasm';

/**
 * tfjs starts each pthread worker with the script `var WasmBackendModuleThreadedSimd = ` + the factory's
 * source text (`factory.toString()`). The factory reads `_scriptDir`, a variable of the closure around it,
 * which a minifier renames: that text alone then throws in every worker ("e is not defined") and the init
 * waits for its thread pool forever (the hang of minified apps and of our own bundles). The factory's whole
 * file, evaluated in the worker, defines everything it needs. Its text is a chunk of its own, loaded here
 * only (an app's bundler splits it off; the self-contained bundles inline it), minified by vite.config.ts.
 */
async function makeThreadedFactorySelfContained(): Promise<void> {
  const { default: file } = await import('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?raw');
  const script = `(() => {\n${file}\nreturn WasmBackendModuleThreadedSimd;\n})()`;
  (threadedFactory as { toString(): string }).toString = () => script;
}

/** tfjs's own test for WebAssembly threads (SharedArrayBuffer can be posted, atomics validate), read once,
 *  before this driver first sets the flag. */
let threadSupport: Promise<boolean> | undefined;
/** Why the threaded build failed on this page: later loads go single-threaded at once. */
let threadedFailure: string | null = null;
/** Whether the init being tried is the threaded build. */
let tryingThreads = false;
/** Why the backend initialised last runs on one thread, or null when it runs the threaded build. */
let threadsOff: string | null = null;

/** Why this init should not use the threaded build, or null to use it. */
async function whyNoThreads(numThreads: number | undefined): Promise<string | null> {
  if (numThreads === 1) return 'numThreads: 1';
  if (!globalThis.crossOriginIsolated) return 'not cross-origin isolated';
  if (!(await threadSupport)) return 'WebAssembly threads are not available';
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) return 'no WebAssembly SIMD (the threaded build needs it)';
  const cores = navigator.hardwareConcurrency;
  // tfjs runs at most hardwareConcurrency / 2 threads: below 4 the threaded build would run one
  if (!(cores >= 4)) return `navigator.hardwareConcurrency is ${cores}: tfjs runs at most half as many threads`;
  if (threadedFailure) return `threaded init failed: ${threadedFailure}`;
  return null;
}

/**
 * Why a .wasm binary could not be used, found by fetching it again. Names the URL and the cause (an HTTP
 * status, a network or CORS refusal, or content that is not WebAssembly).
 */
async function wasmFetchProblem(paths: BackendOptions['wasmPaths'], file: string): Promise<string> {
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
  const pathsOf = (opts: BackendOptions) => opts.wasmPaths ?? defaultPaths;
  enableBackend('wasm', {
    async prepare(opts) {
      tryingThreads = false;
      if (typeof WebAssembly === 'undefined') return 'WebAssembly is not available';
      threadSupport ??= tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT').then(Boolean);
      // initialised already (by an earlier load): it keeps its threads, which describe() reports
      if (tf.engine().registry.wasm) return null;
      threadsOff = await whyNoThreads(opts.numThreads);
      tryingThreads = threadsOff === null;
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', tryingThreads);
      if (tryingThreads) {
        await makeThreadedFactorySelfContained();
        setThreadsCount(opts.numThreads ?? -1); // -1: tfjs's default
      }
      const paths = pathsOf(opts);
      if (paths) setWasmPaths(paths as string);
      return null;
    },
    // tfjs-backend-wasm refuses setWasmPaths for the rest of the page after a failed init ("already
    // initialized"): reset it, so a later load with corrected wasmPaths can try again
    reset: resetWasmPath,
    diagnose: async (opts) => `wasm failed to initialise: ${await wasmFetchProblem(pathsOf(opts), tryingThreads ? THREADED_FILE : SIMD_FILE)} (set wasmPaths)`,
    degrade(reason) {
      // single-threaded failed too: not the threads' fault, so a later load (corrected wasmPaths) tries them again
      threadedFailure = tryingThreads ? reason : null;
      return tryingThreads;
    },
    async describe() {
      const wasmThreads = getThreadsCount();
      const off = wasmThreads > 1 ? undefined : threadsOff ?? `the threaded build started ${wasmThreads} thread`;
      return { wasmSimd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), wasmThreads, wasmThreadsOff: off };
    },
  });
}
