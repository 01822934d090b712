/**
 * Worker mode, the `iamnn/worker` entry: `loadInWorker(model, options)` runs the model in a module Web Worker
 * (dist/iamnn.worker.js, tfjs inside) and returns an object with the same API and results as `load()`'s, so
 * inference never blocks the page. DOM images cross as transferred ImageBitmaps (read at natural size on the
 * page: createImageBitmap), ImageData as its bytes, tensors as their values. This module has no tfjs in it.
 */
import { checkSize, isA, readySize, unsupportedInput } from './dom-input';
import * as errors from './errors';
import { emitResult } from './events';
import type { ClassifyOptions, IamNNModel, LoadOptions, ModelInfo, Result } from './model';
import { wasmFiles } from './wasm-files';
import type { ModelSource } from './weights';
import type { Reply, Request, Unnumbered, WireError, WireInput } from './worker-protocol';

export interface WorkerLoadOptions extends Omit<LoadOptions, 'fetch'> {
  /** The worker script. Default: dist/iamnn.worker.js beside this module (bundlers copy it). */
  workerUrl?: string | URL;
}

/** A model running in a worker: IamNNModel's API; tensors given to it are read (`await t.data()`) and copied. */
export type WorkerModel = IamNNModel;

const ERROR_CLASSES: Record<string, new (...a: never[]) => errors.IamNNError> = {
  IamNNError: errors.IamNNError, ModelFormatError: errors.ModelFormatError, ModelLoadError: errors.ModelLoadError,
  BackendError: errors.BackendError, IamNNInputError: errors.IamNNInputError, OptionError: errors.OptionError,
  DisposedError: errors.DisposedError,
};

/** The worker's error as the same SDK error class here, its typed fields kept. */
function revive(w: WireError): Error {
  const cls = ERROR_CLASSES[w.name];
  const e = new errors.IamNNError(w.message);
  if (cls) Object.setPrototypeOf(e, cls.prototype);
  return Object.assign(e, { name: cls ? w.name : 'IamNNError' }, w.fields);
}

interface TensorLike { shape: number[]; dtype: string; data(): Promise<Float32Array | Int32Array>; dataId: unknown }

async function toWire(input: unknown, timeoutMs: number, index?: number): Promise<[WireInput, Transferable[]]> {
  if (input === null || input === undefined) throw new errors.IamNNInputError('missing', `got ${input}`, index);
  if (typeof input === 'object' && 'dataId' in input && typeof (input as TensorLike).data === 'function') {
    const t = input as TensorLike & { isDisposed?: boolean };
    if (t.isDisposed) throw new errors.IamNNInputError('missing', 'the tensor has been disposed', index);
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new errors.IamNNInputError('bad-dtype', `tensor dtype ${t.dtype}; expected float32 or int32 with values 0..255`, index);
    const values = (await t.data()).slice();
    return [{ tensor: { values, shape: [...t.shape], dtype: t.dtype } }, [values.buffer]];
  }
  if (isA<ImageData>(input, 'ImageData')) {
    checkSize(input.width, input.height, 'the ImageData', index);
    const data = input.data.slice();
    return [{ imageData: { data, width: input.width, height: input.height } }, [data.buffer]];
  }
  const ready = await readySize(input, timeoutMs, index);
  if (!ready) {
    throw unsupportedInput(input, index);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(ready[0] as ImageBitmapSource); // a copy at natural size; the page keeps its own
  } catch (e) {
    throw new errors.IamNNInputError('unsupported-type', `could not read the image: ${(e as Error).message}`, index);
  }
  return [{ bitmap }, [bitmap]];
}

class WorkerProxy extends EventTarget implements IamNNModel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; onProgress?: LoadOptions['onProgress'] }>();
  private disposed = false;
  info!: ModelInfo;

  constructor(private readonly worker: Worker) {
    super();
    worker.onmessage = (e: MessageEvent<Reply>) => {
      const r = e.data;
      if ('backendchange' in r) {
        this.info = r.info;
        this.dispatchEvent(new CustomEvent('backendchange', { detail: r.backendchange }));
        return;
      }
      const p = this.pending.get(r.id);
      if (!p) return;
      if ('progress' in r) return p.onProgress?.(r.progress);
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(revive(r.error));
    };
    worker.onerror = (e) => this.rejectAll(new errors.IamNNError(`the worker failed: ${e.message}`));
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  request<T>(req: Unnumbered<Request>, transfer: Transferable[] = [], extra: { onProgress?: LoadOptions['onProgress']; signal?: AbortSignal } = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (extra.signal?.aborted) {
        for (const t of transfer) if (typeof ImageBitmap !== 'undefined' && t instanceof ImageBitmap) t.close();
        reject(extra.signal.reason);
        return;
      }
      const onAbort = () => {
        this.worker.postMessage({ id: this.nextId++, op: 'abort', target: id } satisfies Request);
        this.pending.delete(id);
        reject(extra.signal!.reason);
      };
      this.pending.set(id, {
        resolve: (v) => { extra.signal?.removeEventListener('abort', onAbort); resolve(v as T); },
        reject: (e) => { extra.signal?.removeEventListener('abort', onAbort); reject(e); },
        onProgress: extra.onProgress,
      });
      extra.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.worker.postMessage({ ...req, id } as Request, transfer);
      } catch (e) { // e.g. an option holding a function: it cannot be cloned
        this.pending.get(id)?.reject(new errors.OptionError('options', `cannot be sent to the worker: ${(e as Error).message}`));
        this.pending.delete(id);
      }
    });
  }

  classify(input: Parameters<IamNNModel['classify']>[0], options: ClassifyOptions = {}): Promise<Result> {
    return this.call([input], options, true, false).then((r) => r[0]);
  }

  classifyBatch(inputs: Parameters<IamNNModel['classifyBatch']>[0], options: ClassifyOptions = {}): Promise<Result[]> {
    return this.call(inputs, options, false, !Array.isArray(inputs));
  }

  private async call(inputs: unknown, options: ClassifyOptions, single: boolean, batchTensor: boolean): Promise<Result[]> {
    if (this.disposed) throw new errors.DisposedError();
    const { signal, ...rest } = options ?? {};
    signal?.throwIfAborted();
    const list: unknown[] = batchTensor ? [inputs] : Array.isArray(inputs) ? inputs : [];
    if (!batchTensor && !Array.isArray(inputs)) throw new errors.IamNNInputError('unsupported-type', 'classifyBatch takes an array of images or an [N, H, W, 3] tensor');
    if (list.length === 0) throw new errors.IamNNInputError('empty-batch', 'no images given');
    const settled = await Promise.allSettled(list.map((x, i) => toWire(x, rest.inputTimeoutMs ?? 5000, single || batchTensor ? undefined : i)));
    const wired = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed || signal?.aborted) {
      for (const [w] of wired) if ('bitmap' in w) w.bitmap.close();
      signal?.throwIfAborted();
      throw (failed as PromiseRejectedResult).reason;
    }
    const results = await this.request<Result[]>({ op: 'classify', inputs: wired.map((w) => w[0]), batchTensor, single, options: rest },
      wired.flatMap((w) => w[1]), { signal });
    results.forEach((r, i) => emitResult(this, r, batchTensor ? undefined : list[i]));
    return results;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // the worker answers after the calls already sent; anything still unanswered then rejects with DisposedError
    void this.request({ op: 'dispose' }).catch(() => undefined).finally(() => {
      this.worker.terminate();
      this.rejectAll(new errors.DisposedError());
    });
  }
}

/** Load a model in a module Web Worker: the same API and results as `load()`, off the main thread. */
export async function loadInWorker(model: string | ModelSource, options: WorkerLoadOptions = {}): Promise<WorkerModel> {
  const { workerUrl, onProgress, signal, ...rest } = options;
  if ('fetch' in options) throw new errors.OptionError('fetch', 'a custom fetch cannot cross into the worker; leave it out');
  const source: ModelSource = typeof model === 'string' ? { url: model } : model;
  if (typeof source?.url !== 'string') throw new errors.OptionError('model', 'expected the URL of a model.json, or a model module\'s { url, files }');
  const abs = (u: string) => new URL(u, location.href).href; // the worker resolves against its own URL otherwise
  const wire: ModelSource = { url: abs(source.url), files: source.files && Object.fromEntries(Object.entries(source.files).map(([k, v]) => [k, abs(v)])) };
  const worker = new Worker(workerUrl ?? new URL('./iamnn.worker.js', import.meta.url), { type: 'module' });
  const proxy = new WorkerProxy(worker);
  try {
    // the .wasm files as this module sees them: an app's bundler copies and renames them for this module, not
    // for the worker script it copies as a plain asset
    const options = { ...rest, wasmPaths: rest.wasmPaths ?? wasmFiles() };
    proxy.info = await proxy.request<ModelInfo>({ op: 'load', model: wire, options }, [], { onProgress, signal });
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return proxy;
}

export { classifyVideo } from './video';
export * from './errors';
export type { ClassifyOptions, ModelInfo, Result } from './model';
