/**
 * Downloads model.json and its shards with progress, checks sizes and hashes, and decodes the
 * weights (float32, float16 or uint8-quantized) with `tf.io.decodeWeights` from one concatenated
 * buffer, which is immune to tf.io.loadWeights' unequal-shard bug.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError, ModelLoadError } from './errors';
import { parseModelJson, weightBytes, type ModelJson } from './format';
import { ModelCache, type CacheReport } from './cache';
import { sha256Hex } from './sha256';

export interface LoadProgress {
  /** Bytes of weight shards received so far. */
  loaded: number;
  /** Total bytes of weight shards, from the manifest. */
  total: number;
  /** loaded / total, 0..1. */
  fraction: number;
}

/** A model as its files' URLs, e.g. from the module beside a model.json (`import model from
 *  'iamnn/models/cifar10'`), whose `new URL(...)`s an app's bundler copied and renamed. */
export interface ModelSource {
  /** model.json's URL. */
  url: string;
  /** The URL of each file model.json names (its shard paths), where it is not beside model.json. */
  files?: Record<string, string>;
}

export interface FetchOptions {
  fetch: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  /** Give up when no byte arrives for this long (a stalled server). */
  timeoutMs: number;
  /** Allow shard paths that resolve outside model.json's folder or origin. */
  allowCrossOriginWeights: boolean;
  /** Cache API cache name for offline use, or null for none (see cache.ts). */
  cacheName: string | null;
}

/**
 * Aborts the download when the caller's signal aborts or when no data has arrived for `ms`: an idle
 * limit rather than a total one, so a large model on a slow but live connection still loads.
 */
class StallWatch {
  readonly controller = new AbortController();
  stalled = false;
  private timer?: ReturnType<typeof setTimeout>;

  private readonly onOuterAbort: () => void;

  constructor(private readonly ms: number, private readonly outer?: AbortSignal) {
    this.onOuterAbort = () => this.controller.abort(outer?.reason);
    if (outer?.aborted) this.onOuterAbort();
    outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    this.kick();
  }

  kick(): void {
    clearTimeout(this.timer);
    if (!Number.isFinite(this.ms)) return; // no limit
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort(new DOMException(`no data for ${this.ms} ms`, 'TimeoutError'));
    }, Math.min(this.ms, 2 ** 31 - 1));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}

interface Download extends FetchOptions {
  watch: StallWatch;
  cache: ModelCache;
}

/** After an abort or a stall, whatever failed (the fetch, a body read) rejects with the signal's reason, as
 *  LoadOptions promises, or with a ModelLoadError naming the stalled URL. */
function throwIfStopped(opts: Download, url: string, e: unknown): void {
  if (opts.signal?.aborted) throw opts.signal.reason ?? e;
  if (opts.watch.stalled) throw new ModelLoadError(url, `no data arrived for ${opts.timeoutMs} ms (timeoutMs)`, undefined, e);
}

async function get(url: string, opts: Download): Promise<Response> {
  let res: Response;
  try {
    res = await opts.fetch(url, { signal: opts.watch.controller.signal });
  } catch (e) {
    throwIfStopped(opts, url, e);
    throw new ModelLoadError(url, `network error: ${(e as Error).message ?? e}`, undefined, e);
  }
  opts.watch.kick();
  if (!res.ok) throw new ModelLoadError(url, `HTTP ${res.status}`, res.status);
  return res;
}

async function readBody(res: Response, url: string, opts: Download, onChunk: (n: number) => void): Promise<Uint8Array> {
  if (!res.body) {
    let buf: Uint8Array;
    try {
      buf = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throwIfStopped(opts, url, e);
      throw new ModelLoadError(url, `download interrupted: ${(e as Error).message ?? e}`, undefined, e);
    }
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
      throwIfStopped(opts, url, e);
      throw new ModelLoadError(url, `download interrupted: ${(e as Error).message ?? e}`, undefined, e);
    }
    if (step.done) break;
    opts.watch.kick();
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
  /** Each weights group's shards, concatenated and verified; decodeWeights makes the tensors. */
  groups: ArrayBuffer[];
  /** Total bytes of the weight shards. */
  bytes: number;
  cache: CacheReport;
}

/**
 * Every shard's URL, each checked to lie in model.json's folder on its origin (unless allowed otherwise):
 * a model.json must not make the page fetch from other hosts or from outside the model's folder.
 */
function shardUrls(manifest: ModelJson, base: string, allowElsewhere: boolean, files: Record<string, string>): string[][] {
  return manifest.weightsManifest.map((group, g) => group.paths.map((p, i) => {
    // a file the app's code mapped (its bundler's copy) is trusted as the app's own; model.json's paths are checked
    if (Object.hasOwn(files, p)) return new URL(files[p], globalThis.location?.href ?? base).href;
    const url = new URL(p, base).href;
    if (!allowElsewhere && (new URL(url).origin !== new URL(base).origin || !url.startsWith(base))) {
      throw new ModelFormatError(`weightsManifest[${g}].paths[${i}]`,
        `${p} resolves to ${url}, outside the model's folder ${base}; set allowCrossOriginWeights to load weights from elsewhere`);
    }
    return url;
  }));
}

/** Fetch and validate model.json, then fetch, verify and decode every shard. */
export async function fetchModel(source: ModelSource, options: FetchOptions): Promise<LoadedWeights> {
  const opts: Download = { ...options, watch: new StallWatch(options.timeoutMs, options.signal), cache: await ModelCache.open(options.cacheName) };
  try {
    return await download(source, opts);
  } finally {
    opts.watch.stop();
  }
}

async function download({ url: modelUrl, files = {} }: ModelSource, opts: Download): Promise<LoadedWeights> {
  const absolute = new URL(modelUrl, globalThis.location?.href ?? 'http://localhost/').href;
  const text = await readModelJson(absolute, opts);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(text));
  } catch (e) {
    throw new ModelFormatError('model.json', `not valid JSON: ${(e as Error).message}`);
  }
  const manifest = parseModelJson(json);
  const base = new URL('.', absolute).href;
  const urls = shardUrls(manifest, base, opts.allowCrossOriginWeights, files);
  const total = manifest.weightsManifest.reduce((a, g) => a + g.weights.reduce((b, w) => b + weightBytes(w), 0), 0);
  let loaded = 0;
  const report = () => opts.onProgress?.({ loaded, total, fraction: total ? Math.min(1, loaded / total) : 1 });
  report();
  const groups: ArrayBuffer[] = [];
  for (const [g, group] of manifest.weightsManifest.entries()) {
    const shards = await Promise.all(group.paths.map(async (p, i) => {
      const url = urls[g][i];
      const want = group.sha256?.[i];
      const cached = want ? await opts.cache.getShard(want, base) : null;
      if (cached) {
        loaded += cached.length;
        report();
        return cached;
      }
      const data = await readBody(await get(url, opts), url, opts, (n) => { loaded += n; report(); });
      if (want) {
        const got = await sha256Hex(data);
        if (got !== want) throw new ModelFormatError(`weightsManifest[${g}].sha256[${i}]`, `${p} has sha256 ${got}, expected ${want}`);
        await opts.cache.putShard(want, base, data);
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
    groups.push(buf.buffer);
  }
  await opts.cache.putModelJson(absolute, text); // only now: a model.json without its shards would break offline loads
  return { manifest, groups, bytes: total, cache: opts.cache.report };
}

/** The weights as tensors on the active backend (the caller disposes them). */
export function decodeWeights(loaded: LoadedWeights): tf.NamedTensorMap {
  const weights: tf.NamedTensorMap = {};
  try {
    loaded.manifest.weightsManifest.forEach((group, g) => {
      Object.assign(weights, tf.io.decodeWeights(loaded.groups[g], group.weights as tf.io.WeightsManifestEntry[]));
    });
  } catch (e) {
    tf.dispose(weights);
    throw e;
  }
  return weights;
}

/** model.json, network first; the cached copy only when the network fails (not on an HTTP error or an abort). */
async function readModelJson(url: string, opts: Download): Promise<Uint8Array> {
  try {
    return await readBody(await get(url, opts), url, opts, () => undefined);
  } catch (e) {
    const offline = e instanceof ModelLoadError && e.status === undefined && !opts.signal?.aborted;
    const cached = offline ? await opts.cache.getModelJson(url) : null;
    if (cached) return cached;
    throw e;
  }
}
