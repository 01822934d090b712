/**
 * dist/iamnn.standalone.js (tfjs inside) without a bundler: a page's <script type="module"> and a module
 * worker import it from another origin, find its .wasm files beside it, and reproduce PyTorch.
 */
import { expect, test } from '@playwright/test';

const ORIGIN = 'http://127.0.0.1:4173';
const PAGE = 'http://127.0.0.1:4174/e2e/pages/standalone.html';
const tiny = { modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, parityUrl: `${ORIGIN}/test/fixtures/tiny/parity.json` };

function worst(results: { logits: number[] }[], logits: number[][]): number {
  return Math.max(...results.flatMap((r, i) => r.logits.map((v, j) => Math.abs(v - logits[i][j]))));
}

test('a page and a module worker import the self-contained ES module and reproduce PyTorch', async ({ page }, info) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(PAGE);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  const backend = info.project.name;
  const onPage = await page.evaluate((o) => (window as any).runParity(o), { ...tiny, backend });
  expect(onPage.info.backend).toBe(backend);
  expect(onPage.single.map((r: { iterations: number[] }) => r.iterations)).toEqual(onPage.parity.iterations);
  expect(worst(onPage.single, onPage.parity.logits)).toBeLessThan(1e-4);
  const inWorker = await page.evaluate((o) => (window as any).runWorker(o), { ...tiny, backend });
  expect(inWorker.error).toBeUndefined();
  expect(inWorker.backend).toBe(backend);
  expect(inWorker.results.map((r: { iterations: number[] }) => r.iterations)).toEqual(inWorker.parity.iterations);
  expect(worst(inWorker.results, inWorker.parity.logits)).toBeLessThan(1e-4);
  expect(errors).toEqual([]);
});
