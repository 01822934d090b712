/**
 * Backend selection among the backends this build enables (each entry enables its own: `iamnn/webgpu`,
 * `iamnn/wasm`, `iamnn/cpu`; `iamnn` all three): WebGPU when a hardware adapter initialises (a software one, such
 * as SwiftShader, runs ~100x slower than WASM, so 'auto' skips it when WASM is enabled and WebAssembly is there),
 * else WASM, else CPU. Every attempt has a timeout, and the reason each skipped backend was skipped is kept.
 * No tfjs backend package is imported here: an app bundles only the backends its entries enable.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, OptionError, type BackendAttempt, type BackendName } from './errors';

/** `auto` tries webgpu, then wasm, then cpu: those of them this build enables. */
export type BackendChoice = 'auto' | BackendName;
const AUTO_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

/** tfjs-backend-wasm's largest XNNPACK thread pool (it also caps it at navigator.hardwareConcurrency / 2). */
export const MAX_WASM_THREADS = 8;

/** What a backend's driver reports about the configuration it runs. */
export interface BackendDetails {
  /** WASM backend only: SIMD in use. */
  wasmSimd?: boolean;
  /** WASM backend only: the threads XNNPACK runs on (tfjs's getThreadsCount; 1 unless the page is cross-origin
   *  isolated). */
  wasmThreads?: number;
  /** WASM backend only, on one thread: why ('not cross-origin isolated', 'numThreads: 1',
   *  'threaded init failed: ...', a hardwareConcurrency below 4). */
  wasmThreadsOff?: string;
}

export interface BackendInfo extends BackendDetails {
  backend: BackendName;
  /** Why each backend tried before the one in use was skipped. */
  skipped: BackendAttempt[];
  /** WebGPU only: the adapter is a software (fallback) one, e.g. SwiftShader. */
  softwareAdapter?: boolean;
  initMs: number;
}

export interface BackendOptions {
  /** Folder (ending in /) or file map holding the tfjs-backend-wasm .wasm binaries. */
  wasmPaths?: string | Record<string, string>;
  /** WASM: XNNPACK's threads, 1..MAX_WASM_THREADS; undefined: tfjs's default. */
  numThreads?: number;
  timeoutMs: number;
  /** Backends `auto` must not try (e.g. webgpu after its device was lost). */
  exclude?: BackendName[];
}

/** What a backend needs beyond tf.setBackend (its tfjs package registered it with tfjs when imported). */
export interface BackendDriver {
  /** Before tf.setBackend: why the backend cannot run here, or null. */
  prepare?(opts: BackendOptions): Promise<string | null> | string | null;
  /** After an init that failed or threw: undo what would stop a later load from trying again. */
  reset?(): void;
  /** After tf.setBackend resolved false: why, when the driver can find out (tfjs only logs it). */
  diagnose?(opts: BackendOptions): Promise<string>;
  /** After a failed init (`reason`, reset already): true if the driver set up a lesser configuration of the
   *  same backend to try next (WASM without threads), false if there is none. */
  degrade?(reason: string): boolean;
  /** After a successful init: what the backend runs, for `info`. */
  describe?(): Promise<BackendDetails>;
}

/** The backends the imported entries enabled, with their drivers. */
const enabled = new Map<BackendName, BackendDriver>();

/** Called by an entry that imported `name`'s tfjs backend package. */
export function enableBackend(name: BackendName, driver: BackendDriver = {}): void {
  enabled.set(name, driver);
}

/** The `backend` option's valid values in this build. */
function backendChoices(): BackendChoice[] {
  return ['auto', ...AUTO_ORDER.filter((b) => enabled.has(b))];
}

class Timeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (!Number.isFinite(ms)) return p; // no limit (setTimeout would treat Infinity as 0)
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Timeout(`${what} timed out after ${ms} ms`)), Math.min(ms, 2 ** 31 - 1)); }),
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

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
}

/** Why `adapter` is a software one (a fallback adapter, or SwiftShader by name), or null for hardware. */
function softwareAdapter(adapter: AdapterLike): string | null {
  if (adapter.info?.isFallbackAdapter || adapter.isFallbackAdapter) return 'a fallback (software) adapter';
  const { vendor = '', architecture = '', description = '' } = adapter.info ?? {};
  const name = `${vendor} ${architecture} ${description}`.trim();
  return /swiftshader/i.test(name) ? `a software adapter (${name})` : null;
}

/** The adapter WebGPU would run on: [reason it cannot be used or null, whether it is software]. */
async function probeWebGPU(timeoutMs: number, allowSoftware: boolean): Promise<[string | null, boolean]> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<AdapterLike | null> } } | undefined)?.gpu;
  if (!gpu) return ['navigator.gpu is not available (browser without WebGPU, or not a secure context)', false];
  const adapter = await withTimeout(gpu.requestAdapter(), timeoutMs, 'requestAdapter').catch((e: Error) => e.message);
  if (adapter === null) return ['no WebGPU adapter (GPU blocklisted or WebGPU disabled)', false];
  if (typeof adapter === 'string') return [adapter, false];
  const software = softwareAdapter(adapter);
  if (software && !allowSoftware) {
    return [`${software}: about 100x slower than WASM here; pass backend: 'webgpu' to use it anyway`, true];
  }
  return [null, software !== null];
}

/** Initialise `name`, in a lesser configuration if its driver has one when the first fails: why not, or null. */
async function activate(name: BackendName, opts: BackendOptions): Promise<string | null> {
  const driver = enabled.get(name)!;
  for (;;) {
    let reason: string;
    try {
      const unusable = await driver.prepare?.(opts);
      if (unusable) return unusable;
      const ok = await withTimeout(tf.setBackend(name), opts.timeoutMs, `${name} initialisation`);
      if (ok && tf.getBackend() === name) return null;
      driver.reset?.();
      reason = driver.diagnose ? await driver.diagnose(opts) : `${name} failed to initialise`;
    } catch (e) {
      if (e instanceof Timeout) abandonInit(name);
      driver.reset?.();
      reason = (e as Error).message ?? String(e);
    }
    if (!driver.degrade?.(reason)) return reason;
  }
}

/** Backend initialisations run one at a time: two concurrent tf.setBackend calls make tfjs resolve the first
 *  one false (it treats the older promise as outdated). */
let initChain: Promise<unknown> = Promise.resolve();

/** Make `choice` (or the best enabled one for 'auto') the active tfjs backend. */
export function initBackend(choice: BackendChoice, opts: BackendOptions): Promise<BackendInfo> {
  const next = initChain.then(() => initBackendNow(choice, opts));
  initChain = next.catch(() => undefined);
  return next;
}

async function initBackendNow(choice: BackendChoice, opts: BackendOptions): Promise<BackendInfo> {
  const choices = backendChoices();
  if (!choices.includes(choice)) {
    const elsewhere = AUTO_ORDER.includes(choice as BackendName) ? ` is not in this build (import 'iamnn/${choice}' too, or 'iamnn' for all)` : '';
    throw new OptionError('backend', `${JSON.stringify(choice)}${elsewhere}; expected one of ${choices.map((c) => `'${c}'`).join(', ')}`);
  }
  const t0 = performance.now();
  const order = choice === 'auto' ? AUTO_ORDER.filter((b) => enabled.has(b) && !opts.exclude?.includes(b)) : [choice];
  if (order.length === 0) {
    // 'auto' after a lost WebGPU device, in a build with no other backend
    const names = [...enabled.keys()].map((b) => `'${b}'`).join(', ');
    throw new BackendError(`no backend to fall back to: this build enables only ${names}, ruled out (${opts.exclude?.join(', ')}: device lost); import 'iamnn/wasm' or 'iamnn/cpu' too for a fallback`, []);
  }
  const skipped: BackendAttempt[] = [];
  // 'auto' takes a software WebGPU adapter only when there is no WASM to run instead
  const allowSoftware = choice === 'webgpu' || !enabled.has('wasm') || typeof WebAssembly === 'undefined';
  for (const name of order) {
    let [reason, software] = name === 'webgpu' ? await probeWebGPU(opts.timeoutMs, allowSoftware) : [null, false];
    if (reason === null) reason = await activate(name, opts);
    if (reason === null) {
      const details = await enabled.get(name)!.describe?.();
      return { backend: name, skipped, ...details, softwareAdapter: name === 'webgpu' ? software : undefined, initMs: performance.now() - t0 };
    }
    skipped.push({ backend: name, reason });
  }
  throw new BackendError(`no backend could be initialised (asked for '${choice}')`, skipped);
}

type LostDevice = { lost?: Promise<{ reason?: string; message?: string }> };
/** Models to tell when the WebGPU device is lost; a disposed model unsubscribes, so nothing keeps it alive. */
const lossWatchers = new Set<(reason: string) => void>();
let watchedDevice: LostDevice | null = null;
let lossReason: string | null = null;

/**
 * Calls `onLost(reason)` when the WebGPU device behind tfjs's webgpu backend is lost (driver reset, GPU
 * removed, `device.destroy()`). Every model on that backend shares the device, watched once. Returns the
 * unsubscribe function.
 */
export function onWebGPULost(onLost: (reason: string) => void): () => void {
  const device = (tf.engine().registry.webgpu as unknown as { device?: LostDevice } | undefined)?.device;
  if (device?.lost && device !== watchedDevice) {
    watchedDevice = device;
    lossReason = null;
    void device.lost.then((info) => {
      if (device !== watchedDevice) return;
      lossReason = `${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}`;
      for (const w of [...lossWatchers]) w(lossReason);
    });
  }
  lossWatchers.add(onLost);
  return () => { lossWatchers.delete(onLost); };
}

/** Why the watched WebGPU device was lost, once it has been; else null. */
export function webGPULossReason(): string | null {
  return lossReason;
}

/**
 * Drop tfjs's webgpu backend after its device was lost, once for the page: a later `load` then gets a fresh
 * device instead of the dead one. Its tensors are gone with the device and are not disposed one by one.
 */
export function dropLostWebGPU(): void {
  if (!tf.engine().registry.webgpu) return; // another model did it already (findBackend would start a new init)
  const { factory, priority } = tf.engine().registryFactory.webgpu;
  try {
    tf.removeBackend('webgpu');
  } catch {
    // disposing a backend whose device is gone may throw; it is unusable either way
  }
  tf.registerBackend('webgpu', factory, priority);
}

/** Re-select our backend if the page switched tfjs to another one since load. */
export async function ensureBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() !== name) await tf.setBackend(name);
}
