/**
 * Worker mode (`iamnn/worker`): the model runs in a module worker with the same API and results (PyTorch's
 * parity vectors, events), and a batch of 100 leaves the page without long tasks, where the same batch in the
 * page has them.
 */
import { expect, test, type Page } from '@playwright/test';

const ORIGIN = 'http://127.0.0.1:4173';

async function open(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${ORIGIN}/e2e/pages/worker.html`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  return errors;
}

test('worker mode reproduces PyTorch with the same API and events', async ({ page }, info) => {
  const errors = await open(page);
  const backend = info.project.name;
  const out = await page.evaluate((o) => (window as any).runParity(o), {
    modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, parityUrl: `${ORIGIN}/test/fixtures/tiny/parity.json`, backend,
  });
  expect(out.info.backend).toBe(backend);
  const n = out.parity.iterations.length;
  for (let i = 0; i < n; i++) {
    for (const r of [out.single[i], out.batch[i]]) {
      expect(r.iterations).toEqual(out.parity.iterations[i]);
      r.logits.forEach((v: number, j: number) => expect(Math.abs(v - out.parity.logits[i][j])).toBeLessThan(1e-4));
    }
  }
  expect(out.domEvents).toHaveLength(3 * n); // results still reach the classified elements
  expect(out.modelEvents).toHaveLength(3 * n);
  expect(out.progress.at(-1)).toBe(1);
  expect(errors).toEqual([]);
});

test('a batch of 100 in the worker leaves the page free of long tasks', async ({ page }, info) => {
  test.skip(info.project.name !== 'wasm', 'measured on WASM, where the in-page run is the common case');
  await open(page);
  const out = await page.evaluate((o) => (window as any).runLongTasks(o), { modelUrl: `${ORIGIN}/models/cifar10/model.json`, backend: 'wasm', n: 100 });
  console.log(`long tasks during a batch of 100: worker ${out.worker.count} (longest ${out.worker.longestMs.toFixed(0)} ms, batch ${out.worker.batchMs.toFixed(0)} ms); in the page ${out.page.count} (longest ${out.page.longestMs.toFixed(0)} ms, batch ${out.page.batchMs.toFixed(0)} ms)`);
  expect(out.worker.labels).toEqual(out.page.labels);
  expect(out.worker.count).toBe(0);
  expect(out.page.count).toBeGreaterThan(0); // the measurement can see long tasks
});
