/**
 * WASM threads (tfjs-backend-wasm's threaded SIMD build) from the built IIFE, standalone ES module and worker
 * bundles, on cross-origin isolated pages (e2e/serve.mjs's /isolated/ paths: COOP same-origin, COEP
 * require-corp) and on a page that is not: they classify the parity images like PyTorch, and `info` says how
 * many threads run or why only one does, including after a threaded init that fails or hangs and falls back to
 * single-threaded SIMD. tfjs runs at most hardwareConcurrency / 2 threads, and this machine has 2 cores: the
 * pages emulate 4 by CDP, worker mode by e2e/pages/cores-worker.js (CDP's override does not reach workers).
 * A minified app's bundle (the case that hung) is e2e/bundlers.spec.ts's.
 */
import { expect, test, type Page } from '@playwright/test';
import { ownServer } from './own-server';

const BUNDLES = ['iife', 'standalone', 'worker'] as const;
type Bundle = (typeof BUNDLES)[number];
const LOGIT_TOLERANCE = 1e-4;

let server: Awaited<ReturnType<typeof ownServer>>;
test.beforeAll(async () => { server = await ownServer(4177); });
test.afterAll(() => server.close());

interface Run { bundle: Bundle; isolated?: boolean; cores?: number; loadOptions?: Record<string, unknown> }

/** Open the threads page for `bundle`, run the cifar10 parity images on WASM, check them against PyTorch; `info`. */
async function classify(page: Page, { bundle, isolated = true, cores = 4, loadOptions = {} }: Run) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const base = `${server.origin}${isolated ? '/isolated' : ''}/e2e/pages`;
  if (cores && bundle !== 'worker') {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: cores });
  }
  await page.goto(`${base}/threads.html?bundle=${bundle}`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  const workerUrl = bundle === 'worker' && cores ? { workerUrl: `${base}/cores-worker.js?cores=${cores}` } : {};
  const out = await page.evaluate((o) => (window as any).runParity(o), {
    modelUrl: `${server.origin}/models/cifar10/model.json`, parityUrl: `${server.origin}/models/cifar10/parity.json`,
    backend: 'wasm', loadOptions: { ...loadOptions, ...workerUrl },
  });
  expect(out.info.backend).toBe('wasm');
  expect(out.info.wasmSimd).toBe(true);
  let worst = 0;
  out.parity.iterations.forEach((want: number[], i: number) => {
    for (const r of [out.single[i], out.batch[i]]) {
      expect(r.iterations, `image ${i}`).toEqual(want);
      r.logits.forEach((v: number, j: number) => { worst = Math.max(worst, Math.abs(v - out.parity.logits[i][j])); });
    }
  });
  console.log(`${bundle}${isolated ? ', isolated' : ''}, ${cores || 'real'} cores, ${JSON.stringify(loadOptions)}: ${out.info.wasmThreads} thread(s)${out.info.wasmThreadsOff ? ` (${out.info.wasmThreadsOff})` : ''}, init ${out.info.timings.backendInitMs.toFixed(0)} ms, max |logit - PyTorch| ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(LOGIT_TOLERANCE);
  expect(errors).toEqual([]);
  return out.info;
}

for (const bundle of BUNDLES) {
  test(`${bundle}: an isolated page runs 2 threads (4 cores), 1 with numThreads: 1, like PyTorch`, async ({ browser }) => {
    const page = await browser.newPage();
    const info = await classify(page, { bundle });
    expect(info).toMatchObject({ wasmThreads: 2, backendSkipped: [] });
    expect(info.wasmThreadsOff).toBeUndefined();
    await page.close();
    const one = await browser.newPage(); // a fresh page: the WASM backend keeps its threads for the page's lifetime
    expect(await classify(one, { bundle, loadOptions: { numThreads: 1 } })).toMatchObject({ wasmThreads: 1, wasmThreadsOff: 'numThreads: 1' });
    await one.close();
  });
}

test('a page that is not cross-origin isolated runs one thread and says why', async ({ page }) => {
  expect(await classify(page, { bundle: 'iife', isolated: false })).toMatchObject({ wasmThreads: 1, wasmThreadsOff: 'not cross-origin isolated' });
});

test('an isolated page on this 2-core machine runs one thread and says why', async ({ page }) => {
  expect(await classify(page, { bundle: 'standalone', cores: 0 })).toMatchObject({
    wasmThreads: 1, wasmThreadsOff: 'navigator.hardwareConcurrency is 2: tfjs runs at most half as many threads',
  });
});

test('a threaded init that fails (its .wasm missing) falls back to single-threaded SIMD and says so', async ({ page }) => {
  await page.route('**/tfjs-backend-wasm-threaded-simd.wasm', (route) => route.fulfill({ status: 404, body: 'not found' }));
  const info = await classify(page, { bundle: 'standalone' });
  expect(info.wasmThreads).toBe(1);
  expect(info.wasmThreadsOff).toMatch(/^threaded init failed: wasm failed to initialise: GET http:\/\/127\.0\.0\.1:4177\/isolated\/dist\/tfjs-backend-wasm-threaded-simd\.wasm: HTTP 404 /);
  expect(info.backendSkipped).toEqual([]);
});

test('a threaded init that hangs falls back to single-threaded SIMD after backendTimeoutMs and says so', async ({ page }) => {
  await page.route('**/tfjs-backend-wasm-threaded-simd.wasm', () => undefined); // never answered
  const info = await classify(page, { bundle: 'iife', loadOptions: { backendTimeoutMs: 3000 } });
  expect(info).toMatchObject({ wasmThreads: 1, wasmThreadsOff: 'threaded init failed: wasm initialisation timed out after 3000 ms', backendSkipped: [] });
});
