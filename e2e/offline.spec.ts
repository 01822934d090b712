/**
 * The offline cache, against the built ES module bundle: after one online load, a reload with the model's
 * files unreachable loads and classifies from the Cache API; a corrupted cached shard is detected, dropped and
 * fetched again; clearCache() empties it.
 */
import { expect, test, type Page } from '@playwright/test';

const ORIGIN = 'http://127.0.0.1:4173';
const APP = `${ORIGIN}/e2e/app/dist/index.html`;
const opts = { modelUrl: `${ORIGIN}/models/cifar10/model.json`, backend: 'wasm', cacheName: 'e2e-offline' };

async function ready(page: Page) {
  await page.waitForFunction(() => (window as any).harnessReady === true);
}

const offline = (page: Page) => page.route('**/models/cifar10/**', (r) => r.abort('internetdisconnected'));

test('a reload without network loads from the cache; a corrupt entry is repaired; clearCache empties it', async ({ page }, info) => {
  test.skip(info.project.name !== 'wasm', 'backend-independent: run once');
  await page.goto(APP);
  await ready(page);
  await page.evaluate((n) => (window as any).clearCache(n), opts.cacheName);
  const online = await page.evaluate((o) => (window as any).runCached(o), opts);
  expect(online.error).toBeUndefined();
  expect(online.cache).toEqual({ available: true, modelJsonFromCache: false, shardsFromCache: 0, shardsRepaired: 0 });

  await offline(page);
  await page.reload();
  await ready(page);
  const fromCache = await page.evaluate((o) => (window as any).runCached(o), opts);
  expect(fromCache.error).toBeUndefined();
  expect(fromCache.cache).toEqual({ available: true, modelJsonFromCache: true, shardsFromCache: 2, shardsRepaired: 0 });
  expect(fromCache.logits).toEqual(online.logits);

  // corrupt one cached shard: the next load (online) detects it, drops it and refetches
  await page.unroute('**/models/cifar10/**');
  const corrupted = await page.evaluate(async (name) => {
    const cache = await caches.open(name);
    const key = (await cache.keys()).find((k) => k.url.includes('/.iamnn-cache/sha256/'))!;
    await cache.put(key, new Response(new Uint8Array(1000)));
    return key.url;
  }, opts.cacheName);
  expect(corrupted).toContain('/.iamnn-cache/sha256/');
  const repaired = await page.evaluate((o) => (window as any).runCached(o), opts);
  expect(repaired.cache).toMatchObject({ shardsFromCache: 1, shardsRepaired: 1 });
  expect(repaired.logits).toEqual(online.logits);
  await offline(page);
  expect((await page.evaluate((o) => (window as any).runCached(o), opts)).cache).toMatchObject({ shardsFromCache: 2, shardsRepaired: 0 });

  expect(await page.evaluate((n) => (window as any).clearCache(n), opts.cacheName)).toBe(true);
  expect((await page.evaluate((o) => (window as any).runCached(o), opts)).error).toMatch(/ModelLoadError/);
});
