/** classifyVideo on Chromium's fake 640x480 camera, against the built ES module bundle, on both backends. */
import { expect, test, type Page } from '@playwright/test';

const ORIGIN = 'http://127.0.0.1:4173';
const MODEL = `${ORIGIN}/test/fixtures/tiny/model.json`;

async function run(page: Page, o: Record<string, unknown>) {
  await page.goto(`${ORIGIN}/e2e/app/dist/index.html`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  return page.evaluate((opts) => (window as any).runVideo(opts), o);
}

test('1,000 camera frames: results all along, at the model\'s own setting, no tensor growth', async ({ page }, info) => {
  const out = await run(page, { modelUrl: MODEL, backend: info.project.name, frames: 1000 });
  expect(out.size).toEqual([640, 480]);
  expect(out.errors).toEqual([]);
  expect(out.results.length).toBeGreaterThan(20);
  expect(out.results.every((r: { level: number }) => r.level === 0)).toBe(true); // no budget: the model's own setting
  expect(out.after).toBe(out.before);
  console.log(`${info.project.name}: ${out.results.length} of ~1000 frames classified, median call ${[...out.results.map((r: { callMs: number }) => r.callMs)].sort((a, b) => a - b)[out.results.length >> 1].toFixed(1)} ms`);
});

test('a frame budget it cannot hold walks the compute ladder down to its cheapest rung', async ({ page }, info) => {
  const out = await run(page, { modelUrl: MODEL, backend: info.project.name, frames: 60, frameBudgetMs: 0.001 });
  expect(out.errors).toEqual([]);
  const levels = out.results.map((r: { level: number }) => r.level);
  expect(levels[0]).toBe(0);
  const cheapest = 6; // COMPUTE_LADDER's last rung
  expect(levels.at(-1)).toBe(cheapest);
  expect(levels).toEqual([...levels].sort((a, b) => a - b)); // only ever down under an impossible budget
  const flopsAt = (l: number) => out.results.filter((r: { level: number }) => r.level === l).map((r: { flops: number }) => r.flops);
  expect(Math.max(...flopsAt(cheapest))).toBeLessThan(Math.min(...flopsAt(0)));
});
