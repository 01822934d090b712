/**
 * The built bundles in Chromium: a plain page with a script tag (bundle from another origin) and a
 * Vite-built ES-module app, each on WebGPU (asked for by name: the adapter here is SwiftShader, which
 * 'auto' skips) and on WASM ('auto' with no adapter). Both must reproduce PyTorch's parity vectors
 * (so both backends give the same predictions and iteration counts), report the backend they run
 * on, and deliver results to the page as events.
 */
import { expect, test, type Page } from '@playwright/test';

const ORIGIN = 'http://127.0.0.1:4173';
const PAGES = [
  { name: 'script tag', url: 'http://127.0.0.1:4174/e2e/pages/script-tag.html' },
  { name: 'ES module app', url: `${ORIGIN}/e2e/app/dist/index.html` },
];
const MODELS = ['test/fixtures/tiny', 'models/cifar10'];
const LOGIT_TOLERANCE = 1e-4;

/** The webgpu project names its backend (its adapter is software, which 'auto' skips); wasm tests 'auto'. */
function backendOption(project: string): string {
  return project === 'webgpu' ? 'webgpu' : 'auto';
}

async function open(page: Page, url: string) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  return errors;
}

for (const p of PAGES) {
  test.describe(p.name, () => {
    for (const dir of MODELS) {
      test(`reproduces PyTorch on ${dir}`, async ({ page }, info) => {
        const errors = await open(page, p.url);
        const out = await page.evaluate((o) => (window as any).runParity(o), {
          modelUrl: `${ORIGIN}/${dir}/model.json`, parityUrl: `${ORIGIN}/${dir}/parity.json`, backend: backendOption(info.project.name),
        });
        const backend = info.project.name;
        expect(out.info.backend).toBe(backend);
        if (backend === 'wasm') {
          expect(out.info.backendSkipped.map((s: { backend: string }) => s.backend)).toEqual(['webgpu']);
          expect(out.info.wasmSimd).toBe(true);
        }
        const n = out.parity.iterations.length;
        let worst = 0;
        for (let i = 0; i < n; i++) {
          for (const r of [out.single[i], out.batch[i]]) {
            expect(r.iterations, `image ${i}`).toEqual(out.parity.iterations[i]);
            expect(r.flops).toBe(out.parity.flops[i]);
            expect(r.backend).toBe(backend);
            r.logits.forEach((v: number, j: number) => { worst = Math.max(worst, Math.abs(v - out.parity.logits[i][j])); });
          }
          expect(out.budget[i].every((t: number) => t === 1)).toBe(true);
        }
        console.log(`${p.name} ${backend} ${dir}: max |logit - PyTorch| = ${worst.toExponential(2)}; warm-up ${out.info.timings.warmupMs.toFixed(0)} ms`);
        expect(worst).toBeLessThan(LOGIT_TOLERANCE);
        // every result reached the page: a bubbling DOM event on its canvas and a model event
        expect(out.domEvents).toHaveLength(3 * n);
        expect(out.domEvents.slice(0, n).map((e: { target: string }) => e.target)).toEqual(Array.from({ length: n }, (_, i) => `img${i}`));
        expect(out.domEvents.slice(0, n).map((e: { classIndex: number }) => e.classIndex)).toEqual(out.single.map((r: { classIndex: number }) => r.classIndex));
        expect(out.domEvents.slice(0, n).map((e: { iterations: number[] }) => e.iterations)).toEqual(out.parity.iterations);
        expect(out.modelEvents).toHaveLength(3 * n);
        expect(out.progress.at(-1)).toBe(1);
        if (p.name === 'ES module app') {
          // no tensor leaks on this backend (early exit with active-set compaction included)
          expect(out.tensors.loaded).toBeGreaterThan(0); // the model's weights: the count is read
          expect(out.tensors.afterCalls).toBe(out.tensors.loaded);
          expect(out.tensors.afterDispose).toBe(0);
        }
        expect(errors).toEqual([]);
      });
    }

    test('accepts every DOM input kind and types every bad one', async ({ page }, info) => {
      const errors = await open(page, p.url);
      const out = await page.evaluate((o) => (window as any).runInputs(o), {
        modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, origins: [ORIGIN, 'http://127.0.0.1:4174'], backend: backendOption(info.project.name),
      });
      expect(out).toEqual({
        image: 'ok', canvas: 'ok', offscreen: 'ok', bitmap: 'ok', imageData: 'ok', blankCanvas: 'ok',
        broken: 'IamNNInputError:broken-image', noSrc: 'IamNNInputError:not-loaded',
        emptyCanvas: 'IamNNInputError:empty', closedBitmap: 'IamNNInputError:empty',
        tainted: 'IamNNInputError:tainted', video: 'IamNNInputError:not-loaded', afterErrors: 'ok',
      });
      expect(errors).toEqual([]);
    });
  });
}

test('auto skips a software WebGPU adapter for WASM and says why', async ({ page }, info) => {
  test.skip(info.project.name !== 'webgpu', 'needs the SwiftShader adapter of the webgpu project');
  await open(page, PAGES[1].url);
  const out = await page.evaluate((o) => (window as any).runParity(o), {
    modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, parityUrl: `${ORIGIN}/test/fixtures/tiny/parity.json`, backend: 'auto',
  });
  expect(out.info.backend).toBe('wasm');
  expect(out.info.backendSkipped).toEqual([{ backend: 'webgpu', reason: expect.stringMatching(/software adapter.*SwiftShader|fallback/i) }]);
});

test('every size and input kind classifies like the same pixels as a tensor', async ({ page }, info) => {
  const errors = await open(page, PAGES[1].url);
  const sizes = [[1, 1], [31, 31], [32, 32], [33, 33], [64, 64], [224, 224], [256, 256], [500, 375], [640, 480], [480, 640], [1920, 1080], [4000, 3000]];
  for (const backend of info.project.name === 'webgpu' ? ['webgpu'] : ['wasm', 'cpu']) {
    const out = await page.evaluate((o) => (window as any).runSizes(o), { modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, backend, sizes });
    expect(out).toHaveLength(sizes.length * 5);
    for (const r of out) {
      expect(r.error, `${backend} ${r.size} ${r.kind}`).toBeUndefined();
      expect(r.backend).toBe(backend);
      expect(r.sameIterations, `${backend} ${r.size} ${r.kind}`).toBe(true);
      expect(r.diff, `${backend} ${r.size} ${r.kind}`).toBeLessThan(1e-3);
    }
    console.log(`${backend}: worst |logit - tensor path| over ${out.length} cases = ${Math.max(...out.map((r: { diff: number }) => r.diff)).toExponential(2)}`);
  }
  expect(errors).toEqual([]);
});
