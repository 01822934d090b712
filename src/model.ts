/**
 * `load()` and the model object it returns: classification with per-call compute budgets, results
 * as return values and as events, serialized calls, and disposal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dropLostWebGPU, ensureBackend, initBackend, MAX_WASM_THREADS, onWebGPULost, webGPULossReason, type BackendChoice, type BackendDetails, type BackendInfo, type BackendOptions } from './backend';
import { asIamNNError, BackendError, DisposedError, IamNNInputError, OptionError, type BackendAttempt, type BackendName } from './errors';
import type { ModelSpec } from './format';
import { isA } from './dom-input';
import { isTensor, pixelsToTensor, preprocess, readDomPixels, readTensor, type HostPixels, type ImageInput } from './input';
import { Network, selectRows, type RunOptions } from './network';
import { emitResult } from './events';
import { decodeWeights, fetchModel, type LoadProgress, type ModelSource } from './weights';
import { DEFAULT_CACHE_NAME, type CacheReport } from './cache';

export interface LoadOptions {
  /** Which tfjs backend runs the model. `'auto'` (default): WebGPU on a hardware adapter, else WASM
   *  (SIMD), else CPU; a software WebGPU adapter is skipped (see `info.backendSkipped`) unless asked for
   *  by name. */
  backend?: BackendChoice;
  /** Called as weight shards download. */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts the download; `load` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** A fetch implementation (auth headers, caching, tests). Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Classify one blank image at every stage's maximum at load, so WebGPU compiles its shaders
   *  before the first real call. Its time is `info.timings.warmupMs`. Default: true. */
  warmup?: boolean;
  /** Where the tfjs-backend-wasm `.wasm` files are: a folder URL ending in `/` or a file-name ->
   *  URL map. Default: the folder of this bundle (`dist/`), where the build puts them. */
  wasmPaths?: string | Record<string, string>;
  /** WASM: how many threads XNNPACK runs on, 1 to 8. More than 1 needs a cross-origin isolated page (COOP and
   *  COEP headers); tfjs also caps it at navigator.hardwareConcurrency / 2. Applies when the page's WASM backend
   *  first initialises; `info.wasmThreads` says what runs. Default: tfjs's (that cap). */
  numThreads?: number;
  /** Give up on a backend whose initialisation takes longer than this (a threaded WASM init that does then
   *  falls back to one thread, which gets as long again). Default: 10000 ms. */
  backendTimeoutMs?: number;
  /** Give up on the download when no data arrives for this long (a stalled server): a ModelLoadError
   *  naming the URL. Default: 30000 ms. */
  timeoutMs?: number;
  /** Allow weight shards outside model.json's folder or on another origin. Default: false. */
  allowCrossOriginWeights?: boolean;
  /** Keep the model for offline use in the Cache API: `true` (cache "iamnn-v1") or a cache name.
   *  Shards are keyed by sha256 and verified on read; model.json is read network-first. Default: false. */
  cache?: boolean | string;
}

export interface ClassifyOptions {
  /** How many labels `topK` lists, 1..number of classes. Default: 3 (or the class count if smaller). */
  topK?: number;
  /** Cap on iterations: one number for every stage or one per stage; each 1..the stage maximum.
   *  Default: each stage's maximum from model.json. */
  maxIterations?: number | number[];
  /** A stage halts once its cumulative halting score reaches this, in (0, 1].
   *  Default: 1 - haltingEpsilon from model.json. Lower = fewer iterations. */
  haltingThreshold?: number;
  /** false: halted images keep running to every stage's cap (with weight 0), so results are the
   *  same but compute is the maximum; for benchmarks. Default: true. */
  earlyExit?: boolean;
  /** Longest wait for an `<img>` or `<video>` that is still loading, in ms; then an IamNNInputError
   *  'timed-out'. Inputs are read before the call joins the page-wide queue, so a slow one never
   *  delays other calls. Default: 5000. */
  inputTimeoutMs?: number;
  /** Cancels the call: it rejects with the signal's reason, at the latest after the iteration that is
   *  running, and frees every tensor it made. */
  signal?: AbortSignal;
  /** Anytime result: when this many ms have passed since the call, every stage halts at the iteration it
   *  is in (its halting-weighted state so far) and later stages run one iteration each; the result says
   *  `deadlineExceeded`. Only an iterative network can answer early like this. Default: none. */
  deadlineMs?: number;
  /** The mirror vote: an image whose top class probability after the first pass is below this is classified
   *  again mirrored left-right (same settings) and gets the mean of the two passes' logits; FLOPs count both.
   *  0: off; 1: every image. Default: model.json's `mirrorBelow` (0 when it has none). */
  mirrorBelow?: number;
}

export interface Prediction {
  label: string;
  classIndex: number;
  probability: number;
}

export interface Result {
  /** The most probable class. */
  label: string;
  classIndex: number;
  probability: number;
  /** The `topK` most probable classes, most probable first. */
  topK: Prediction[];
  /** Iterations each stage ran for this image (the first pass when it was mirrored). */
  iterations: number[];
  /** The mirror vote classified this image mirrored too (`mirrorBelow`); `logits` are the two passes' mean. */
  mirrored: boolean;
  /** Iterations each stage ran in the mirrored pass; null when the image was not mirrored. */
  mirrorIterations: number[] | null;
  /** The cap each stage ran under in this call. */
  maxIterations: number[];
  /** FLOPs spent on this image (2 per multiply-add of every conv/FC layer), both passes when mirrored. */
  flops: number;
  /** The most this call could spend on one image: every stage at its maximum, twice when the mirror vote is on. */
  flopsMax: number;
  /** Pre-softmax class scores. */
  logits: number[];
  /** `deadlineMs` cut the call short: the result is the best the network had by then. */
  deadlineExceeded: boolean;
  backend: BackendName;
  /** Time the model spent on the call that produced this result, from leaving the page-wide queue to
   *  the result (preprocessing and tensor validation included; DOM images are read before the call
   *  joins the queue and are not counted), divided by the images in it. */
  timeMs: number;
}

export interface ModelInfo extends BackendDetails {
  labels: string[];
  /** Stored parameters (shared convs once, per-iteration batchnorm, ACT heads, classifier). */
  params: number;
  /** Bytes of the weight files. */
  bytes: number;
  maxIterations: number[];
  flopsMax: number;
  /** FLOPs of stem, of one iteration of each stage, and of the head. */
  flops: ModelSpec['flops'];
  inputSize: [number, number];
  haltingEpsilon: number;
  backend: BackendName;
  /** Why each backend tried before `backend` was skipped. */
  backendSkipped: BackendAttempt[];
  /** WebGPU backend only: the adapter is a software one (SwiftShader or a fallback adapter), far slower
   *  than WASM; 'auto' only picks one when WebAssembly is unavailable. */
  softwareAdapter?: boolean;
  timings: { backendInitMs: number; downloadMs: number; warmupMs: number };
  /** What the offline cache did for this load (the `cache` option). */
  cache: CacheReport;
}

/** A loaded IamNN model. Results are also dispatched as `result` events on the model and as a
 *  bubbling `iamnn:result` CustomEvent on the classified element when it is in a document. */
export interface IamNNModel extends EventTarget {
  readonly info: ModelInfo;
  classify(input: ImageInput, options?: ClassifyOptions): Promise<Result>;
  classifyBatch(inputs: ImageInput[] | tf.Tensor4D, options?: ClassifyOptions): Promise<Result[]>;
  /** Frees every tensor the model holds: at once, or when the call it is running ends. Calls not yet
   *  started reject with DisposedError. */
  dispose(): void;
}

type CallOptions = RunOptions & { topK: number; inputTimeoutMs: number; mirrorBelow: number };

/** A placeholder for an input already turned into a tensor (its pixels released). */
const EMPTY: HostPixels = { data: new Float32Array(0), side: 0 };

/** `p`, or a rejection with the signal's reason as soon as it aborts (the listener removed either way). */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  p.catch(() => undefined); // abandoned on an abort: its own later failure is not an unhandled rejection
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** An input after the out-of-queue read: DOM images as host pixels, tensors as given (validated in the queue). */
type Read = HostPixels | tf.Tensor;

/** The model's input side when its input is square (the host can then area-reduce all the way), else 0. */
const squareSide = (spec: ModelSpec) => (spec.input.height === spec.input.width ? spec.input.height : 0);

/** Reads every DOM image concurrently, each within `timeoutMs`, reduced towards a square input of side `size`
 *  (0: not square); an error names the index in a batch. */
async function readInputs(inputs: ImageInput[] | tf.Tensor4D, isBatch: boolean, timeoutMs: number, size: number): Promise<Read[]> {
  if (isBatch && isTensor(inputs)) return [inputs];
  if (!Array.isArray(inputs)) {
    throw new IamNNInputError('unsupported-type', 'classifyBatch takes an array of images or an [N, H, W, 3] tensor');
  }
  if (inputs.length === 0) throw new IamNNInputError('empty-batch', 'no images given');
  return Promise.all(inputs.map(async (input, i) => {
    const index = isBatch ? i : undefined;
    if (input === null || input === undefined) throw new IamNNInputError('missing', `got ${input}`, index);
    if (isTensor(input)) return input;
    if (typeof input === 'object' && 'dataId' in input) {
      throw new IamNNInputError('unsupported-type', 'an object shaped like a tensor that is not a tf.Tensor of this tfjs', index);
    }
    return readDomPixels(input, timeoutMs, size, index);
  }));
}

/**
 * One queue for every call of every model on the page: the tfjs backend is page-global, so a model
 * on another backend must not switch it while a call awaits a readback, and WebGPU readbacks
 * interleave badly.
 */
let callQueue: Promise<unknown> = Promise.resolve();
function serialize<T>(job: () => Promise<T>): Promise<T> {
  const next = callQueue.then(job, job);
  callQueue = next.catch(() => undefined);
  return next;
}

/** The fields of `info` that describe the backend in use (each one set, so a backend change clears the last's). */
function backendFields(bk: BackendInfo): Pick<ModelInfo, 'backend' | 'wasmSimd' | 'wasmThreads' | 'wasmThreadsOff' | 'softwareAdapter'> {
  return { backend: bk.backend, wasmSimd: bk.wasmSimd, wasmThreads: bk.wasmThreads, wasmThreadsOff: bk.wasmThreadsOff, softwareAdapter: bk.softwareAdapter };
}

/** The top softmax probability of one row of logits, in float64 (as training/evaluate.py's mirror_chosen). */
function topProbability(row: Float32Array): number {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let z = 0;
  for (const v of row) z += Math.exp(v - m);
  return 1 / z;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

class Model extends EventTarget implements IamNNModel {
  private disposed = false;
  /** Calls queued or running: dispose() must not free the weights under them. */
  private pending = 0;

  /** Stops watching the WebGPU device (on dispose: the watcher must not keep the model alive). */
  private readonly unwatch: () => void;

  constructor(private net: Network, readonly info: ModelInfo, private readonly backendOptions: BackendOptions) {
    super();
    this.unwatch = info.backend === 'webgpu' ? onWebGPULost((reason) => this.onDeviceLost(reason)) : () => undefined;
  }

  /** The device-loss reason if this model's WebGPU device is lost (or is lost within a moment: a call on it
   *  may fail before the device reports the loss), else null. */
  private async lostDevice(): Promise<string | null> {
    if (this.info.backend !== 'webgpu') return null;
    // the device may report the loss after the call fails (a software adapter finishes its queued work first): wait up to 5 s
    for (let waited = 0; webGPULossReason() === null && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    return webGPULossReason();
  }

  /**
   * The WebGPU device is gone: the call running on it fails (a BackendError), and the model moves to the
   * best other backend by itself, rebuilding its network from the host copy of the weights; a
   * `backendchange` event says so and `info.backend` follows. In the queue: it switches the page's backend.
   */
  private onDeviceLost(reason: string): void {
    this.unwatch();
    if (this.disposed) return;
    dropLostWebGPU();
    void serialize(async () => {
      if (this.disposed) return;
      try {
        const bk = await initBackend('auto', { ...this.backendOptions, exclude: ['webgpu'] });
        if (this.disposed) return;
        this.net = this.net.rebuild(); // the old network's tensors went with the device: dropped, not disposed
        const from = this.info.backend;
        Object.assign(this.info, backendFields(bk));
        this.info.backendSkipped.push({ backend: 'webgpu', reason: `device lost (${reason})` });
        this.dispatchEvent(new CustomEvent('backendchange', { detail: { from, to: bk.backend, reason } }));
      } catch (e) {
        this.dispatchEvent(new CustomEvent('backendchange', { detail: { from: 'webgpu', to: null, reason, error: e } }));
      }
    });
  }

  private get spec(): ModelSpec {
    return this.net.spec;
  }

  private runOptions(o: ClassifyOptions): CallOptions {
    const spec = this.spec;
    const caps = spec.stages.map((s) => s.maxIterations);
    const topK = o.topK ?? Math.min(3, spec.labels.length);
    if (!isInt(topK) || topK < 1 || topK > spec.labels.length) {
      throw new OptionError('topK', `${topK}; expected an integer from 1 to ${spec.labels.length}`);
    }
    let maxIterations = caps;
    if (o.maxIterations !== undefined) {
      const m = o.maxIterations;
      maxIterations = typeof m === 'number' ? caps.map(() => m) : m;
      if (!Array.isArray(maxIterations) || maxIterations.length !== caps.length) {
        throw new OptionError('maxIterations', `expected a number or an array of ${caps.length} (one per stage)`);
      }
      maxIterations.forEach((v, k) => {
        if (!isInt(v) || v < 1 || v > caps[k]) {
          throw new OptionError('maxIterations', `stage ${k}: ${v}; expected an integer from 1 to ${caps[k]}`);
        }
      });
    }
    const threshold = o.haltingThreshold ?? 1 - spec.haltingEpsilon;
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
      throw new OptionError('haltingThreshold', `${threshold}; expected a number in (0, 1]`);
    }
    const earlyExit = o.earlyExit ?? true;
    if (typeof earlyExit !== 'boolean') throw new OptionError('earlyExit', `${earlyExit}; expected true or false`);
    const inputTimeoutMs = o.inputTimeoutMs ?? 5000;
    if (typeof inputTimeoutMs !== 'number' || !(inputTimeoutMs >= 0)) {
      throw new OptionError('inputTimeoutMs', `${inputTimeoutMs}; expected a number of milliseconds >= 0`);
    }
    if (o.signal !== undefined && !isA<AbortSignal>(o.signal, 'AbortSignal')) throw new OptionError('signal', 'expected an AbortSignal');
    const d = o.deadlineMs;
    if (d !== undefined && !(typeof d === 'number' && d >= 0)) throw new OptionError('deadlineMs', `${d}; expected a number of milliseconds >= 0`);
    const mirrorBelow = o.mirrorBelow ?? spec.mirrorBelow;
    if (typeof mirrorBelow !== 'number' || !(mirrorBelow >= 0 && mirrorBelow <= 1)) {
      throw new OptionError('mirrorBelow', `${mirrorBelow}; expected a number from 0 (off) to 1 (every image)`);
    }
    const deadline = d === undefined ? undefined : performance.now() + d;
    return { topK, maxIterations: [...maxIterations], threshold, earlyExit, inputTimeoutMs, signal: o.signal, deadline, mirrorBelow };
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    return serialize(job).finally(() => { this.pending--; });
  }

  classify(input: ImageInput, options: ClassifyOptions = {}): Promise<Result> {
    return this.call([input], options, false).then((r) => r[0]);
  }

  classifyBatch(inputs: ImageInput[] | tf.Tensor4D, options: ClassifyOptions = {}): Promise<Result[]> {
    return this.call(inputs, options, true);
  }

  /** Options and inputs are checked and DOM images read before the call joins the queue; the model runs in it. */
  private async call(inputs: ImageInput[] | tf.Tensor4D, options: ClassifyOptions, batch: boolean): Promise<Result[]> {
    if (this.disposed) throw new DisposedError();
    const opts = this.runOptions(options ?? {});
    try {
      opts.signal?.throwIfAborted();
      const read = await untilAborted(readInputs(inputs, batch, opts.inputTimeoutMs, squareSide(this.spec)), opts.signal);
      opts.signal?.throwIfAborted();
      return await untilAborted(this.enqueue(() => this.run(read, inputs, opts, batch)), opts.signal);
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const lost = e instanceof IamNNInputError ? null : await this.lostDevice();
      if (lost !== null) {
        throw new BackendError('the WebGPU device was lost during the call; the model is moving to another backend, call again', [{ backend: 'webgpu', reason: lost }]);
      }
      throw asIamNNError(e, `classification failed on ${this.info.backend}`);
    }
  }

  private async run(read: Read[], inputs: ImageInput[] | tf.Tensor4D, opts: CallOptions, batch: boolean): Promise<Result[]> {
    if (this.disposed) throw new DisposedError();
    opts.signal?.throwIfAborted(); // aborted while it waited in the queue
    const t0 = performance.now();
    await ensureBackend(this.info.backend);
    const parts: tf.Tensor4D[] = []; // each image preprocessed as soon as it is a tensor: one full-size image at a time
    let x: tf.Tensor4D;
    try {
      for (const [i, r] of read.entries()) {
        const raw = isTensor(r) ? await readTensor(r, !Array.isArray(inputs), batch && Array.isArray(inputs) ? i : undefined) : pixelsToTensor(r);
        try {
          parts.push(preprocess(raw, this.spec));
        } finally {
          raw.dispose();
        }
        read[i] = EMPTY; // let the host pixels go
        opts.signal?.throwIfAborted();
      }
      x = parts.length === 1 ? parts.pop()! : tf.tidy(() => tf.concat(parts, 0));
    } finally {
      tf.dispose(parts);
    }
    const n = x.shape[0];
    let out, vote;
    try {
      out = await this.net.run(x, opts);
      vote = out.deadlineHit ? null : await this.mirrorVote(x, out, opts);
    } finally {
      x.dispose();
    }
    const timeMs = (performance.now() - t0) / n;
    const results = this.toResults(out.logits, out.iterations, vote, n, opts, timeMs, out.deadlineHit || vote?.deadlineHit === true);
    const elements = Array.isArray(inputs) ? inputs : [];
    results.forEach((r, i) => emitResult(this, r, elements[i]));
    return results;
  }

  /**
   * The mirror vote (docs/model-format.md): the rows whose top probability in `first` is below the gate (every row at
   * 1) run again mirrored left-right under the same settings. Null when no row is chosen, or when the deadline cut
   * the mirrored pass short (an optional second look is dropped rather than averaged in half-done).
   */
  private async mirrorVote(x: tf.Tensor4D, first: { logits: Float32Array }, opts: CallOptions) {
    const c = this.spec.labels.length;
    const rows: number[] = [];
    for (let r = 0; r < x.shape[0]; r++) {
      const row = first.logits.subarray(r * c, (r + 1) * c);
      if (opts.mirrorBelow >= 1 || topProbability(row) < opts.mirrorBelow) rows.push(r);
    }
    if (rows.length === 0) return null;
    const mirrored = tf.tidy(() => tf.reverse(rows.length === x.shape[0] ? x : selectRows(x, rows), 2) as tf.Tensor4D);
    try {
      const out = await this.net.run(mirrored, opts);
      return { deadlineHit: out.deadlineHit, rows: out.deadlineHit ? [] : rows, logits: out.logits, iterations: out.iterations };
    } finally {
      mirrored.dispose();
    }
  }

  private toResults(logits: Float32Array, iters: Int32Array, vote: { rows: number[]; logits: Float32Array; iterations: Int32Array } | null, n: number, opts: CallOptions, timeMs: number, deadlineExceeded: boolean): Result[] {
    const { labels, flops } = this.spec;
    const c = labels.length;
    const ns = this.spec.stages.length;
    const flopsOf = (it: number[]) => flops.stem + flops.head + it.reduce((a, t, k) => a + t * flops.perIteration[k], 0);
    const second = new Map((vote?.rows ?? []).map((r, j) => [r, j]));
    return Array.from({ length: n }, (_, r) => {
      const j = second.get(r);
      const row = Array.from(logits.subarray(r * c, (r + 1) * c));
      if (j !== undefined) vote!.logits.subarray(j * c, (j + 1) * c).forEach((v, i) => { row[i] = (row[i] + v) / 2; });
      const mirrorIterations = j === undefined ? null : Array.from(vote!.iterations.subarray(j * ns, (j + 1) * ns));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      const ranked = e.map((v, i) => ({ label: labels[i], classIndex: i, probability: v / z }))
        .sort((a, b) => b.probability - a.probability);
      const iterations = Array.from(iters.subarray(r * ns, (r + 1) * ns));
      return {
        label: ranked[0].label,
        classIndex: ranked[0].classIndex,
        probability: ranked[0].probability,
        topK: ranked.slice(0, opts.topK),
        iterations,
        mirrored: mirrorIterations !== null,
        mirrorIterations,
        maxIterations: opts.maxIterations,
        flops: flopsOf(iterations) + (mirrorIterations === null ? 0 : flopsOf(mirrorIterations)),
        flopsMax: opts.mirrorBelow > 0 ? 2 * flops.max : flops.max,
        logits: row,
        deadlineExceeded,
        backend: this.info.backend,
        timeMs,
      };
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unwatch();
    // a running call keeps its weights until it ends; the calls queued behind it throw DisposedError
    if (this.pending === 0) this.net.dispose();
    else void serialize(async () => this.net.dispose());
  }
}

function cacheName(option: LoadOptions['cache']): string | null {
  if (option === undefined || option === false) return null;
  if (option === true) return DEFAULT_CACHE_NAME;
  if (typeof option === 'string' && option !== '') return option;
  throw new OptionError('cache', `${JSON.stringify(option)}; expected true, false or a cache name`);
}

/** A model.json URL, or a model module's `{ url, files }` (see ModelSource), checked. */
function modelSource(model: unknown): ModelSource {
  if (typeof model === 'string' && model !== '') return { url: model };
  const m = model as Partial<ModelSource> | null;
  const filesOk = m?.files === undefined || (typeof m.files === 'object' && m.files !== null && Object.values(m.files).every((v) => typeof v === 'string'));
  if (typeof m === 'object' && m !== null && typeof m.url === 'string' && m.url !== '' && filesOk) return { url: m.url, files: m.files };
  throw new OptionError('model', 'expected the URL of a model.json, or a model module\'s { url, files } (import model from \'iamnn/models/cifar10\')');
}

/**
 * Load an IamNN model: pick a backend, download and validate the model (a model.json URL, or the
 * `{ url, files }` of a model module) and its shards, build the network and (by default) warm it up.
 */
export async function load(modelOrUrl: string | ModelSource, options: LoadOptions = {}): Promise<IamNNModel> {
  const source = modelSource(modelOrUrl);
  const modelUrl = source.url;
  const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (!fetchImpl) throw new OptionError('fetch', 'no global fetch; pass options.fetch');
  const backendOptions: BackendOptions = { wasmPaths: options.wasmPaths, numThreads: options.numThreads, timeoutMs: options.backendTimeoutMs ?? 10_000 };
  const { numThreads } = backendOptions;
  if (numThreads !== undefined && !(isInt(numThreads) && numThreads >= 1 && numThreads <= MAX_WASM_THREADS)) {
    throw new OptionError('numThreads', `${numThreads}; expected an integer from 1 to ${MAX_WASM_THREADS} (or none: tfjs's default)`);
  }
  if (typeof backendOptions.timeoutMs !== 'number' || !(backendOptions.timeoutMs > 0)) {
    throw new OptionError('backendTimeoutMs', `${backendOptions.timeoutMs}; expected a number of milliseconds > 0 (Infinity: no limit)`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new OptionError('timeoutMs', `${timeoutMs}; expected a number of milliseconds > 0 (Infinity: no limit)`);
  // backend switches and tensor work wait for the page's running calls (the backend is page-global)
  const bk = await serialize(() => initBackend(options.backend ?? 'auto', backendOptions));
  const t0 = performance.now();
  const loaded = await fetchModel(source, {
    fetch: fetchImpl, signal: options.signal, onProgress: options.onProgress, timeoutMs,
    allowCrossOriginWeights: options.allowCrossOriginWeights ?? false,
    cacheName: cacheName(options.cache),
  }).catch((e: unknown) => {
    throw options.signal?.aborted ? options.signal.reason : asIamNNError(e, `could not load ${modelUrl}`);
  });
  const { manifest, bytes, cache } = loaded;
  const spec = manifest.iamnn;
  const net = await serialize(async () => {
    await ensureBackend(bk.backend);
    const weights = decodeWeights(loaded);
    try {
      // the host copy of the weights is kept on WebGPU only: to rebuild the network if the device is lost
      return await Network.create(spec, weights, bk.backend === 'webgpu');
    } catch (e) {
      throw asIamNNError(e, `could not build the network on ${bk.backend}`);
    } finally {
      tf.dispose(weights);
    }
  });
  const downloadMs = performance.now() - t0;
  const info: ModelInfo = {
    labels: [...spec.labels],
    params: manifest.weightsManifest.flatMap((g) => g.weights).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0),
    bytes,
    maxIterations: spec.stages.map((s) => s.maxIterations),
    flopsMax: spec.flops.max,
    flops: spec.flops,
    inputSize: [spec.input.height, spec.input.width],
    haltingEpsilon: spec.haltingEpsilon,
    ...backendFields(bk),
    backendSkipped: bk.skipped,
    cache,
    timings: { backendInitMs: bk.initMs, downloadMs, warmupMs: 0 },
  };
  const model = new Model(net, info, backendOptions);
  if (options.warmup ?? true) {
    await serialize(async () => {
      const t1 = performance.now();
      await ensureBackend(bk.backend);
      const blank = tf.zeros([1, spec.input.height, spec.input.width, 3]) as tf.Tensor4D;
      try {
        await net.run(blank, { maxIterations: info.maxIterations, threshold: 1, earlyExit: false });
      } catch (e) {
        model.dispose();
        throw asIamNNError(e, `warm-up failed on ${bk.backend}`);
      } finally {
        blank.dispose();
      }
      info.timings.warmupMs = performance.now() - t1;
    });
  }
  return model;
}
