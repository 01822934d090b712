/**
 * The offline cache (`load(url, { cache: true })`), in the browser's Cache API:
 *   - weight shards are keyed by their sha256 (content-addressed: two model versions share unchanged
 *     shards) and verified on every read; an entry that does not hash to its key is dropped and the
 *     shard fetched again. Shards without a sha256 in model.json are not cached: they could not be verified.
 *   - model.json is keyed by its URL and read network-first: the cached copy is used only when the
 *     network fails, so a new model version is picked up as soon as the server is reachable.
 * Where the Cache API is missing (Node, pages on plain http other than localhost) loading works as without it.
 */
import { sha256Hex } from './sha256';

export const DEFAULT_CACHE_NAME = 'iamnn-v1';

/** What the cache did for one load. */
export interface CacheReport {
  /** The Cache API could be used. */
  available: boolean;
  /** model.json came from the cache (the network failed). */
  modelJsonFromCache: boolean;
  /** Shards read from the cache and verified. */
  shardsFromCache: number;
  /** Cached shards that failed verification, dropped and fetched again. */
  shardsRepaired: number;
}

export class ModelCache {
  readonly report: CacheReport = { available: true, modelJsonFromCache: false, shardsFromCache: 0, shardsRepaired: 0 };

  private constructor(private readonly cache: Cache | null) {
    this.report.available = cache !== null;
  }

  static async open(name: string | null): Promise<ModelCache> {
    if (name === null || typeof caches === 'undefined') return new ModelCache(null);
    try {
      return new ModelCache(await caches.open(name));
    } catch {
      return new ModelCache(null); // e.g. storage blocked in a private window
    }
  }

  /** Content-addressed key of a shard: a URL on the model's origin that is never fetched. */
  private static shardKey(sha256: string, base: string): string {
    return new URL(`/.iamnn-cache/sha256/${sha256}`, base).href;
  }

  async getModelJson(url: string): Promise<Uint8Array | null> {
    const hit = await this.cache?.match(url).catch(() => undefined);
    if (!hit) return null;
    const bytes = await hit.arrayBuffer().catch(() => null); // a storage read error is a miss
    if (!bytes) return null;
    this.report.modelJsonFromCache = true;
    return new Uint8Array(bytes);
  }

  async putModelJson(url: string, bytes: Uint8Array): Promise<void> {
    await this.cache?.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/json' } })).catch(() => undefined);
  }

  /** The cached shard with this sha256, verified; null when absent or corrupt (then dropped). */
  async getShard(sha256: string, base: string): Promise<Uint8Array | null> {
    const key = ModelCache.shardKey(sha256, base);
    const hit = await this.cache?.match(key).catch(() => undefined);
    if (!hit) return null;
    const buffer = await hit.arrayBuffer().catch(() => null); // a storage read error is a miss
    const bytes = new Uint8Array(buffer ?? new ArrayBuffer(0));
    if (buffer && (await sha256Hex(bytes)) === sha256) {
      this.report.shardsFromCache++;
      return bytes;
    }
    this.report.shardsRepaired++;
    await this.cache?.delete(key).catch(() => undefined);
    return null;
  }

  async putShard(sha256: string, base: string, bytes: Uint8Array): Promise<void> {
    await this.cache?.put(ModelCache.shardKey(sha256, base), new Response(bytes as Uint8Array<ArrayBuffer>)).catch(() => undefined); // a full quota is not an error
  }
}

/** Delete the offline cache (`name`: the one given to `load`'s `cache` option). Resolves to whether there was one. */
export async function clearCache(name: string = DEFAULT_CACHE_NAME): Promise<boolean> {
  return typeof caches === 'undefined' ? false : caches.delete(name);
}
