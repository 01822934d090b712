/**
 * Backend selection: WebGPU when a real adapter initialises, else WASM (SIMD when the browser has
 * it, single-threaded: the threaded build hangs setBackend in minified bundles), else CPU.
 * Every attempt has a timeout, and the reason each skipped backend was skipped is kept.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BackendError, OptionError, type BackendAttempt, type BackendName } from './errors';

/** `auto` tries webgpu, then wasm, then cpu. */
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  backend: BackendName;
  /** Why each backend tried before the one in use was skipped. */
  skipped: BackendAttempt[];
  /** WASM only: whether the SIMD build runs. */
  wasmSimd?: boolean;
  initMs: number;
}

export interface BackendOptions {
  /** Folder (ending in /) or file map holding the tfjs-backend-wasm .wasm binaries. */
  wasmPaths?: string | Record<string, string>;
  timeoutMs: number;
}

class Timeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Timeout(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Drop a backend init that timed out. tfjs keeps it pending and, until it settles (a hung one never
 * does), refuses every op on every backend, the fallback included. Removing the backend makes the
 * pending init obsolete; registering its factory again lets a later load try it afresh.
 */
function abandonInit(name: BackendName): void {
  const { factory, priority } = tf.engine().registryFactory[name]; // as its package registered it
  tf.removeBackend(name);
  tf.registerBackend(name, factory, priority);
}

async function tryWebGPU(timeoutMs: number): Promise<string | null> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return 'navigator.gpu is not available (browser without WebGPU, or not a secure context)';
  const adapter = await withTimeout(gpu.requestAdapter(), timeoutMs, 'requestAdapter').catch((e: Error) => e.message);
  if (adapter === null) return 'no WebGPU adapter (GPU blocklisted or WebGPU disabled)';
  if (typeof adapter === 'string') return adapter;
  return null;
}

async function activate(name: BackendName, opts: BackendOptions): Promise<string | null> {
  try {
    if (name === 'wasm') {
      if (typeof WebAssembly === 'undefined') return 'WebAssembly is not available';
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (opts.wasmPaths) setWasmPaths(opts.wasmPaths as string);
    }
    const ok = await withTimeout(tf.setBackend(name), opts.timeoutMs, `${name} initialisation`);
    return ok && tf.getBackend() === name ? null : `${name} failed to initialise`;
  } catch (e) {
    if (e instanceof Timeout) abandonInit(name);
    return (e as Error).message ?? String(e);
  }
}

/** Make `choice` (or the best available for 'auto') the active tfjs backend. */
export async function initBackend(choice: BackendChoice, opts: BackendOptions): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new OptionError('backend', `${JSON.stringify(choice)}; expected one of ${BACKEND_CHOICES.map((c) => `'${c}'`).join(', ')}`);
  }
  const t0 = performance.now();
  const order: BackendName[] = choice === 'auto' ? ['webgpu', 'wasm', 'cpu'] : [choice];
  const skipped: BackendAttempt[] = [];
  for (const name of order) {
    let reason = name === 'webgpu' ? await tryWebGPU(opts.timeoutMs) : null;
    if (reason === null) reason = await activate(name, opts);
    if (reason === null) {
      const wasmSimd = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : undefined;
      return { backend: name, skipped, wasmSimd, initMs: performance.now() - t0 };
    }
    skipped.push({ backend: name, reason });
  }
  throw new BackendError(`no backend could be initialised (asked for '${choice}')`, skipped);
}

/** Re-select our backend if the page switched tfjs to another one since load. */
export async function ensureBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() !== name) await tf.setBackend(name);
}
