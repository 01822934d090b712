/**
 * `load()` and the model object it returns: classification with per-call compute budgets, results
 * as return values and as events, serialized calls, and disposal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend, initBackend, type BackendChoice } from './backend';
import { DisposedError, IamNNError, IamNNInputError, OptionError, type BackendAttempt, type BackendName } from './errors';
import type { ModelSpec } from './format';
import { preprocess, readPixels, readTensor, type ImageInput } from './input';
import { Network, type RunOptions } from './network';
import { fetchModel, type LoadProgress } from './weights';

export interface LoadOptions {
  /** Which tfjs backend runs the model. `'auto'` (default): WebGPU, else WASM (SIMD), else CPU. */
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
  /** Give up on a backend whose initialisation takes longer than this. Default: 10000 ms. */
  backendTimeoutMs?: number;
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
  /** Iterations each stage ran for this image. */
  iterations: number[];
  /** The cap each stage ran under in this call. */
  maxIterations: number[];
  /** FLOPs spent on this image (2 per multiply-add of every conv/FC layer). */
  flops: number;
  /** FLOPs of the model at every stage's maximum. */
  flopsMax: number;
  /** Pre-softmax class scores. */
  logits: number[];
  backend: BackendName;
  /** Wall time of the call that produced this result, divided by the images in it. */
  timeMs: number;
}

export interface ModelInfo {
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
  /** WASM backend only: SIMD in use. */
  wasmSimd?: boolean;
  timings: { backendInitMs: number; downloadMs: number; warmupMs: number };
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

let defaultWasmPaths: string | Record<string, string> | undefined;
/** Set by the entry point: where the .wasm files beside the bundle are. */
export function setDefaultWasmPaths(paths: string | Record<string, string>): void {
  defaultWasmPaths = paths;
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

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

class Model extends EventTarget implements IamNNModel {
  private disposed = false;
  /** Calls queued or running: dispose() must not free the weights under them. */
  private pending = 0;

  constructor(private readonly net: Network, readonly info: ModelInfo) {
    super();
  }

  private get spec(): ModelSpec {
    return this.net.spec;
  }

  private runOptions(o: ClassifyOptions): RunOptions & { topK: number } {
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
    return { topK, maxIterations: [...maxIterations], threshold, earlyExit };
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    return serialize(job).finally(() => { this.pending--; });
  }

  classify(input: ImageInput, options: ClassifyOptions = {}): Promise<Result> {
    return this.enqueue(async () => (await this.run([input], options, false))[0]);
  }

  classifyBatch(inputs: ImageInput[] | tf.Tensor4D, options: ClassifyOptions = {}): Promise<Result[]> {
    return this.enqueue(() => this.run(inputs, options, true));
  }

  private async run(inputs: ImageInput[] | tf.Tensor4D, options: ClassifyOptions, batch: boolean): Promise<Result[]> {
    if (this.disposed) throw new DisposedError();
    const opts = this.runOptions(options ?? {});
    const t0 = performance.now();
    await ensureBackend(this.info.backend);
    const parts = await this.readAll(inputs, batch);
    const n = parts.reduce((a, p) => a + p.shape[0], 0);
    let x: tf.Tensor4D;
    try {
      x = tf.tidy(() => {
        const xs = parts.map((p) => preprocess(p, this.spec));
        return xs.length === 1 ? xs[0] : tf.concat(xs, 0);
      });
    } finally {
      tf.dispose(parts);
    }
    let out;
    try {
      out = await this.net.run(x, opts);
    } finally {
      x.dispose();
    }
    const timeMs = (performance.now() - t0) / n;
    const results = this.toResults(out.logits, out.iterations, n, opts, timeMs);
    const elements = Array.isArray(inputs) ? inputs : [];
    results.forEach((r, i) => this.emit(r, elements[i]));
    return results;
  }

  /** The inputs as 0..255 [n, H, W, 3] tensors: a batch tensor as itself, other images as batches of one. */
  private async readAll(inputs: ImageInput[] | tf.Tensor4D, batch: boolean): Promise<tf.Tensor4D[]> {
    if (batch && inputs instanceof tf.Tensor) return [await readTensor(inputs, true)]; // one validation readback
    if (!Array.isArray(inputs)) {
      throw new IamNNInputError('unsupported-type', 'classifyBatch takes an array of images or an [N, H, W, 3] tensor');
    }
    if (inputs.length === 0) throw new IamNNInputError('empty-batch', 'no images given');
    const read: tf.Tensor4D[] = [];
    try {
      for (let i = 0; i < inputs.length; i++) read.push(await readPixels(inputs[i], batch ? i : undefined));
      return read;
    } catch (e) {
      tf.dispose(read);
      throw e;
    }
  }

  private toResults(logits: Float32Array, iters: Int32Array, n: number, opts: RunOptions & { topK: number }, timeMs: number): Result[] {
    const { labels, flops } = this.spec;
    const c = labels.length;
    const ns = this.spec.stages.length;
    return Array.from({ length: n }, (_, r) => {
      const row = Array.from(logits.subarray(r * c, (r + 1) * c));
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
        maxIterations: opts.maxIterations,
        flops: flops.stem + flops.head + iterations.reduce((a, t, k) => a + t * flops.perIteration[k], 0),
        flopsMax: flops.max,
        logits: row,
        backend: this.info.backend,
        timeMs,
      };
    });
  }

  private emit(result: Result, source: unknown): void {
    this.dispatchEvent(new CustomEvent('result', { detail: result }));
    if (typeof Element !== 'undefined' && source instanceof Element && source.isConnected) {
      source.dispatchEvent(new CustomEvent('iamnn:result', { detail: result, bubbles: true, composed: true }));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // a running call keeps its weights until it ends; the calls queued behind it throw DisposedError
    if (this.pending === 0) this.net.dispose();
    else void serialize(async () => this.net.dispose());
  }
}

/**
 * Load an IamNN model: pick a backend, download and validate `modelUrl` (model.json) and its
 * shards, build the network and (by default) warm it up.
 */
export async function load(modelUrl: string, options: LoadOptions = {}): Promise<IamNNModel> {
  if (typeof modelUrl !== 'string' || modelUrl === '') throw new OptionError('modelUrl', 'expected the URL of a model.json');
  const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (!fetchImpl) throw new OptionError('fetch', 'no global fetch; pass options.fetch');
  const bk = await initBackend(options.backend ?? 'auto', {
    wasmPaths: options.wasmPaths ?? defaultWasmPaths,
    timeoutMs: options.backendTimeoutMs ?? 10_000,
  });
  const t0 = performance.now();
  const { manifest, weights, bytes } = await fetchModel(modelUrl, { fetch: fetchImpl, signal: options.signal, onProgress: options.onProgress });
  const spec = manifest.iamnn;
  let net: Network;
  try {
    net = await Network.create(spec, weights);
  } finally {
    tf.dispose(weights);
  }
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
    backend: bk.backend,
    backendSkipped: bk.skipped,
    wasmSimd: bk.wasmSimd,
    timings: { backendInitMs: bk.initMs, downloadMs, warmupMs: 0 },
  };
  const model = new Model(net, info);
  if (options.warmup ?? true) {
    const t1 = performance.now();
    const blank = tf.zeros([1, spec.input.height, spec.input.width, 3]) as tf.Tensor4D;
    try {
      await net.run(blank, { maxIterations: info.maxIterations, threshold: 1, earlyExit: false });
    } catch (e) {
      model.dispose();
      throw e instanceof IamNNError ? e : new IamNNError(`warm-up failed on ${bk.backend}: ${(e as Error).message}`, { cause: e });
    } finally {
      blank.dispose();
    }
    info.timings.warmupMs = performance.now() - t1;
  }
  return model;
}
