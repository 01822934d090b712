/**
 * The worker side of worker mode (`loadInWorker`, worker-client.ts): built as dist/iamnn.worker.js, a
 * module worker with tfjs inside, which finds its .wasm files beside itself. One model per worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import './index'; // the .wasm files beside this bundle (index.ts sets the default wasm paths)
import { load, type IamNNModel } from './model';
import { IamNNError } from './errors';
import type { Reply, Request, WireError, WireInput } from './worker-protocol';

let model: IamNNModel | null = null;
const aborts = new Map<number, AbortController>();
/** Classify calls still running: dispose answers only after them, so none is left without a reply. */
const running = new Set<Promise<void>>();
const post = (r: Reply, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(r, transfer);

function wireError(e: unknown): WireError {
  const err = e as Error & Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const k of ['problem', 'index', 'field', 'url', 'status', 'option', 'attempts']) if (err?.[k] !== undefined) fields[k] = err[k];
  return { name: e instanceof IamNNError ? err.name : err?.name ?? 'Error', message: err?.message ?? String(e), fields };
}

function fromWire(w: WireInput): ImageBitmap | ImageData | tf.Tensor {
  if ('bitmap' in w) return w.bitmap;
  if ('imageData' in w) return new ImageData(w.imageData.data, w.imageData.width, w.imageData.height);
  return tf.tensor(w.tensor.values, w.tensor.shape, w.tensor.dtype);
}

async function handle(req: Request): Promise<void> {
  if (req.op === 'abort') {
    aborts.get(req.target)?.abort(new DOMException('aborted', 'AbortError'));
    return;
  }
  try {
    if (req.op === 'load') {
      const loaded = await load(req.model, { ...req.options, onProgress: (progress) => post({ id: req.id, progress }) });
      model = loaded;
      // a lost WebGPU device moves the model to WASM: the page hears of it and its info follows
      loaded.addEventListener('backendchange', (e) => post({ id: 0, backendchange: (e as CustomEvent).detail, info: loaded.info }));
      post({ id: req.id, ok: true, value: loaded.info });
    } else if (req.op === 'dispose') {
      await Promise.allSettled([...running]);
      model?.dispose();
      model = null;
      post({ id: req.id, ok: true, value: null });
    } else {
      if (!model) throw new IamNNError('no model loaded in this worker');
      const ctl = new AbortController();
      aborts.set(req.id, ctl);
      const inputs = req.inputs.map(fromWire);
      try {
        const options = { ...req.options, signal: ctl.signal };
        const value = req.single
          ? [await model.classify(inputs[0] as ImageBitmap, options)]
          : await model.classifyBatch(req.batchTensor ? inputs[0] as tf.Tensor4D : inputs as ImageBitmap[], options);
        post({ id: req.id, ok: true, value });
      } finally {
        aborts.delete(req.id);
        for (const x of inputs) {
          if (x instanceof tf.Tensor) x.dispose();
          else if (typeof ImageBitmap !== 'undefined' && x instanceof ImageBitmap) x.close();
        }
      }
    }
  } catch (e) {
    post({ id: req.id, ok: false, error: wireError(e) });
  }
}

self.onmessage = (e: MessageEvent<Request>) => {
  const job = handle(e.data);
  if (e.data.op === 'classify') {
    running.add(job);
    void job.finally(() => running.delete(job));
  }
};
