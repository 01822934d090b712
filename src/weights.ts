/**
 * Downloads model.json and its shards with progress, checks sizes and hashes, and decodes the
 * weights (float32, float16 or uint8-quantized) with `tf.io.decodeWeights` from one concatenated
 * buffer, which is immune to tf.io.loadWeights' unequal-shard bug.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError, ModelLoadError } from './errors';
import { parseModelJson, weightBytes, type ModelJson } from './format';
import { sha256Hex } from './sha256';

export interface LoadProgress {
  /** Bytes of weight shards received so far. */
  loaded: number;
  /** Total bytes of weight shards, from the manifest. */
  total: number;
  /** loaded / total, 0..1. */
  fraction: number;
}

export interface FetchOptions {
  fetch: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

/** After an abort, whatever failed (the fetch, a body read) rejects with the signal's reason, as LoadOptions promises. */
function throwIfAborted(opts: FetchOptions, e: unknown): void {
  if (opts.signal?.aborted) throw opts.signal.reason ?? e;
}

async function get(url: string, opts: FetchOptions): Promise<Response> {
  let res: Response;
  try {
    res = await opts.fetch(url, { signal: opts.signal });
  } catch (e) {
    throwIfAborted(opts, e);
    throw new ModelLoadError(url, `network error: ${(e as Error).message ?? e}`, undefined, e);
  }
  if (!res.ok) throw new ModelLoadError(url, `HTTP ${res.status}`, res.status);
  return res;
}

async function readBody(res: Response, url: string, opts: FetchOptions, onChunk: (n: number) => void): Promise<Uint8Array> {
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    onChunk(buf.length);
    return buf;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (e) {
      throwIfAborted(opts, e);
      throw new ModelLoadError(url, `download interrupted: ${(e as Error).message ?? e}`, undefined, e);
    }
    if (step.done) break;
    chunks.push(step.value);
    size += step.value.length;
    onChunk(step.value.length);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export interface LoadedWeights {
  manifest: ModelJson;
  weights: tf.NamedTensorMap;
  /** Total bytes of the weight shards. */
  bytes: number;
}

/** Fetch and validate model.json, then fetch, verify and decode every shard. */
export async function fetchModel(modelUrl: string, opts: FetchOptions): Promise<LoadedWeights> {
  const res = await get(modelUrl, opts);
  let json: unknown;
  try {
    json = await res.json();
  } catch (e) {
    throwIfAborted(opts, e);
    throw new ModelFormatError('model.json', `not valid JSON: ${(e as Error).message}`);
  }
  const manifest = parseModelJson(json);
  const base = new URL('.', new URL(modelUrl, globalThis.location?.href ?? 'http://localhost/')).href;
  const total = manifest.weightsManifest.reduce((a, g) => a + g.weights.reduce((b, w) => b + weightBytes(w), 0), 0);
  let loaded = 0;
  const report = () => opts.onProgress?.({ loaded, total, fraction: total ? Math.min(1, loaded / total) : 1 });
  report();
  const weights: tf.NamedTensorMap = {};
  try {
    for (const [g, group] of manifest.weightsManifest.entries()) {
      const shards = await Promise.all(group.paths.map(async (p, i) => {
        const url = new URL(p, base).href;
        const data = await readBody(await get(url, opts), url, opts, (n) => { loaded += n; report(); });
        const want = group.sha256?.[i];
        if (want) {
          const got = await sha256Hex(data);
          if (got !== want) throw new ModelFormatError(`weightsManifest[${g}].sha256[${i}]`, `${p} has sha256 ${got}, expected ${want}`);
        }
        return data;
      }));
      const size = shards.reduce((a, s) => a + s.length, 0);
      const need = group.weights.reduce((a, w) => a + weightBytes(w), 0);
      if (size !== need) {
        throw new ModelFormatError(`weightsManifest[${g}].paths`, `shards hold ${size} bytes, the weights listed need ${need}`);
      }
      const buf = new Uint8Array(size);
      let off = 0;
      for (const s of shards) {
        buf.set(s, off);
        off += s.length;
      }
      Object.assign(weights, tf.io.decodeWeights(buf.buffer, group.weights as tf.io.WeightsManifestEntry[]));
    }
  } catch (e) {
    tf.dispose(weights);
    throw e;
  }
  return { manifest, weights, bytes: total };
}
