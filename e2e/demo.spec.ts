/**
 * The built demo (demo/dist) on WebGPU and WASM: the model loads, your images classify, Figure 3 (images
 * ranked by FLOPs) and Figure 2 (iteration histograms) show them, the CIFAR-10 gallery reports accuracy, the
 * dial changes compute, and the budget control re-runs everything. Screenshots go to e2e/artifacts/
 * (UPDATE_SCREENSHOTS=1: also docs/screenshots/ and docs/demo.png).
 */
import { expect, test, type Page } from '@playwright/test';
import { cifarArchive } from '../demo/dataset-path.mjs';
import { MODELS } from '../demo/models.mjs';

const DEMO = 'http://127.0.0.1:4173/demo/dist/index.html';

async function pngs(page: Page, n: number) {
  const urls: string[] = await page.evaluate((count) => Array.from({ length: count }, (_, i) => {
    const c = document.createElement('canvas');
    c.width = 48 + 16 * i;
    c.height = 40;
    const g = c.getContext('2d')!;
    g.fillStyle = `hsl(${i * 80}, 70%, 50%)`;
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = '#fff';
    g.beginPath();
    g.arc(c.width / 2, 20, 6 + 3 * i, 0, 7);
    g.fill();
    return c.toDataURL('image/png');
  }), n);
  return urls.map((u, i) => ({ name: `shape${i}.png`, mimeType: 'image/png', buffer: Buffer.from(u.split(',')[1], 'base64') }));
}

/** Images counted per stage by one set of Figure 2's histograms ('page' or 'report'). */
const histTotals = (page: Page, source: string) => page.$$eval(`.hist-panel[data-source=${source}] .hist`, (figs) =>
  figs.map((f) => Number((f as HTMLElement).dataset.total)));
/** FLOPs of each tile of one of Figure 3's rows, in page order. */
const rowFlops = (page: Page, panel: string) => page.$$eval(`${panel} .rank-tiles`, (rows) =>
  rows.map((r) => Array.from(r.querySelectorAll<HTMLElement>('.rank-tile')).map((t) => Number(t.dataset.flops))));
const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);

test('demo: load, classify, Figures 3 and 2, gallery, dial, budget', async ({ page }, info) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const backend = info.project.name;
  await page.goto(`${DEMO}?backend=${backend}`);
  await page.waitForFunction(() => (window as any).demo?.ready === true, undefined, { timeout: 120_000 });
  // Backend, with a visible note when WebGPU runs on a software adapter (this project's SwiftShader)
  await expect(page.locator('#model-info dd').nth(2)).toHaveText(backend === 'wasm' ? 'wasm (SIMD)' : /^webgpu — a software adapter \(SwiftShader\)/);
  await expect(page.locator('#threshold')).toHaveValue('0.99'); // the model's own threshold, on the slider's grid
  await expect(page.locator('#load-progress')).toHaveJSProperty('value', 1);
  // the model switch lists every shipped model (demo/models.mjs) and names the loaded one
  expect(await page.locator('#model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(MODELS.map((m) => m.id));
  await expect(page.locator('#model')).toHaveValue('cifar10');
  await expect(page.locator('#model-info dd').first()).toHaveText(MODELS[0].title);
  // Figure 2 for the whole test set comes from report.json before any image is classified
  expect(await histTotals(page, 'report')).toEqual([10000, 10000, 10000]);

  await page.setInputFiles('#files', await pngs(page, 4));
  await expect(page.locator('.card')).toHaveCount(4, { timeout: 120_000 }); // SwiftShader compiles this batch size's shaders first
  // Figure 3 for your images: all four in one row, fewest to most FLOPs, no right/wrong mark (no labels)
  const yours = await rowFlops(page, '#rank-yours');
  expect(yours.map((r) => r.length)).toEqual([4]);
  expect(ascending(yours[0])).toBe(true);
  await expect(page.locator('#rank-yours .mark')).toHaveCount(0);
  await expect(page.locator('#ranked > p').first()).toHaveText('FLOPs and labels as classified on this page, at threshold 0.99, caps 2/4/12.');
  expect(await histTotals(page, 'page')).toEqual([4, 4, 4]);

  // live webcam (Chromium's fake 640x480 camera): label, top-5, iterations per stage and ms per frame as it runs
  await page.click('#webcam');
  await expect(page.locator('#live-top li')).toHaveCount(5);
  await expect(page.locator('#live-stages [role=meter]')).toHaveCount(3);
  await expect(page.locator('#live-ms')).toContainText('ms per frame');
  await page.click('#webcam-stop');
  await expect(page.locator('#live')).toBeHidden();

  let total = 4;
  await expect(page.locator('#gallery-run')).toBeEnabled({ enabled: Boolean(cifarArchive()) });
  if (!cifarArchive()) await expect(page.locator('#gallery-status')).toContainText('IAMNN_CIFAR=');
  if (cifarArchive()) {
    const n = backend === 'webgpu' ? 24 : 100; // WebGPU here is SwiftShader: a software GPU on 2 cores (+16 test-set extremes)
    await page.fill('#gallery-n', String(n));
    await page.click('#gallery-run');
    await expect(page.locator('#gallery-status')).toContainText(`${n} CIFAR-10 test set images: accuracy`, { timeout: 120_000 });
    total += n;
    expect(await histTotals(page, 'page')).toEqual([total, total, total]);
    // Figure 3 for the gallery: its 8 cheapest and its 8 most expensive, each row ascending, every tile marked
    const gallery = await rowFlops(page, '#rank-gallery');
    expect(gallery.map((r) => r.length)).toEqual([8, 8]);
    expect(ascending(gallery.flat())).toBe(true);
    await expect(page.locator('#rank-gallery .mark')).toHaveCount(16);
    // and for the whole test set: report.json's indices pick the right images out of the archive, so the
    // 8 it ranked cheapest cost less here than the 8 it ranked most expensive
    const whole = await rowFlops(page, '#rank-test');
    expect(whole.map((r) => r.length)).toEqual([8, 8]);
    expect(Math.max(...whole[0])).toBeLessThan(Math.min(...whole[1]));
    // the README's picture: Figure 3 for the gallery and the whole test set, at the model's own setting
    if (process.env.UPDATE_SCREENSHOTS && backend === 'wasm') await page.locator('section[aria-labelledby=ranked-h]').screenshot({ path: 'docs/demo.png' });
    // 32 px test images shown upscaled, pixelated
    const img = await page.locator('#rank-test canvas').first().evaluate((c) => ({ w: (c as HTMLCanvasElement).width, shown: c.getBoundingClientRect().width, r: getComputedStyle(c).imageRendering }));
    expect(img.w).toBe(32);
    expect(img.shown).toBeGreaterThanOrEqual(64);
    expect(img.r).toBe('pixelated');
  }

  // choosing a card marks it, and only it, as the dial's image
  await page.locator('.card').nth(1).click();
  expect(await page.locator('.card').evaluateAll((cs) => cs.slice(0, 3).map((c) => c.getAttribute('aria-pressed')))).toEqual(['false', 'true', 'false']);
  // the dial: some degradation of the newest image must change the compute spent
  await page.locator('.card').first().click();
  await expect(page.locator('.card').first()).toHaveAttribute('aria-pressed', 'true');
  const changed: boolean[] = [];
  for (const kind of ['noise', 'blur', 'occlusion']) {
    await page.selectOption('#dial-kind', kind);
    await page.click('#dial-run');
    await expect(page.locator('.dial-point')).toHaveCount(6);
    await expect(page.locator('body')).not.toHaveAttribute('aria-busy', 'true');
    const f = await page.$$eval('.dial-point', (els) => els.map((e) => Number((e as HTMLElement).dataset.flops)));
    changed.push(new Set(f).size > 1);
  }
  expect(changed).toContain(true);

  // the budget: a lower threshold re-runs every image with less compute; each row keeps its own caps
  await page.locator('#cap2').fill('6');
  for (const th of ['0.5', '0.95']) {
    await page.locator('#threshold').fill(th);
    await page.click('#budget-run');
    await expect(page.locator('body')).not.toHaveAttribute('aria-busy', 'true', { timeout: 120_000 });
  }
  await expect(page.locator('.tradeoff-row')).toHaveCount(2, { timeout: 120_000 });
  const means = await page.$$eval('.tradeoff-row td:nth-child(3)', (tds) => tds.map((t) => Number(t.textContent)));
  expect(means[0]).toBeLessThan(means[1]);
  // Figure 2 for the page follows the setting: stage 3's histogram now ends at its cap of 6
  await expect(page.locator('.hist-panel[data-source=page] h3')).toContainText('at threshold 0.95, caps 2/4/6');
  expect(JSON.parse(await page.locator('.hist-panel[data-source=page] .hist:nth-child(3) .chart').getAttribute('data-counts') ?? '[]')).toHaveLength(6);
  await page.locator('#cap2').fill('12');
  expect(await page.$$eval('.tradeoff-row td:nth-child(2)', (tds) => tds.map((t) => t.textContent))).toEqual(['2/4/6', '2/4/6']);
  // the charts (uPlot): labelled axes with ticks, legend entries in distinct colours, nothing wider than its section
  const charts: Record<string, { axes: number; legend: string[] }> = {
    '#dial': { axes: 3, legend: ['compute (MFLOPs)', 'confidence (%)'] },
    // the page's own runs have an accuracy (and a point) only with the labelled CIFAR-10 gallery
    '#tradeoff': { axes: 2, legend: ['IamNN, halting thresholds (test set)', 'ResNet-20 (static)', 'ResNet-20 (static, mirrored)', 'Unshared baseline (static)', ...(cifarArchive() ? ['current setting'] : [])] },
    '.hist-panel[data-source=report] .hist:nth-child(3)': { axes: 2, legend: ['images', 'stopped at the cap (12)'] },
    '.hist-panel[data-source=page] .hist:nth-child(1)': { axes: 2, legend: ['images', 'stopped at the cap (2)'] },
  };
  await expect(page.locator('.hist .chart')).toHaveCount(6);
  for (const [id, want] of Object.entries(charts)) {
    const c = page.locator(`${id} .chart`);
    await expect(c.locator('.u-axis')).toHaveCount(want.axes); // x and each labelled y axis (uPlot draws ticks on them)
    expect(await c.locator('.u-legend .u-label').allTextContents()).toEqual(expect.arrayContaining(want.legend));
    const colours = await c.locator('.u-legend .u-marker').evaluateAll((ms) => ms.map((m) => getComputedStyle(m).borderColor).filter((col) => col !== 'rgba(0, 0, 0, 0)'));
    expect(new Set(colours).size, `${id} legend colours ${colours}`).toBeGreaterThan(1);
  }
  const overflow = await page.$$eval('section', (secs) => secs.flatMap((sec) => {
    const box = sec.getBoundingClientRect();
    return Array.from(sec.querySelectorAll<HTMLElement>('.chart, .card, figure, table, .rank-tiles')).filter((e) => e.getBoundingClientRect().right > box.right + 1).map((e) => e.className || e.tagName);
  }));
  expect(overflow).toEqual([]);
  await expect(page.locator('.rank-tile')).toHaveCount(cifarArchive() ? 36 : 4);
  // a phone and a desktop: nothing may stick out of its section at either width
  for (const width of [375, 1440]) {
    await page.setViewportSize({ width, height: 900 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    const outside = await page.$$eval('section', (secs) => secs.flatMap((sec) => {
      const box = sec.getBoundingClientRect();
      return Array.from(sec.querySelectorAll<HTMLElement>('.card, figure, table, .row > *, video, .chart, .rank-tiles'))
        .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > box.right + 1)
        .map((e) => `${e.tagName}.${e.className}`);
    }));
    expect(outside, `at ${width} px`).toEqual([]);
    // and nothing spills out of a card, a Figure 3 tile or a histogram: its pieces and theirs inside it, text unclipped
    const spilt = await page.$$eval('.card, .rank-tile, .hist', (boxes) => boxes.flatMap((b) => {
      const box = b.getBoundingClientRect();
      return Array.from(b.querySelectorAll<HTMLElement>(':scope > *, :scope > * > *'))
        .filter((e) => { const r = e.getBoundingClientRect(); return r.left < box.left - 1 || r.right > box.right + 1 || r.bottom > box.bottom + 1 || e.scrollWidth > e.clientWidth + 1; })
        .map((e) => `${b.className} > ${e.tagName}.${e.className}: ${e.textContent?.slice(0, 30)}`);
    }));
    expect(spilt, `at ${width} px`).toEqual([]);
    await page.screenshot({ path: `e2e/artifacts/demo-${backend}-${width}.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS) await page.screenshot({ path: `docs/screenshots/demo-${backend}-${width}.png`, fullPage: true });
  }
  expect(errors).toEqual([]);
  if (backend !== 'wasm') return; // the switch is backend-independent; SwiftShader would compile every shader again
  // switching models (here to the same one, the only one shipped) keeps your images, classified again, and
  // drops what belonged to the other model: the gallery, its labels and extremes, the budget's runs and setting
  await page.locator('#model').dispatchEvent('change');
  await page.waitForFunction(() => document.querySelector('#model-status')?.textContent?.startsWith('Ready'));
  await expect(page.locator('body')).not.toHaveAttribute('aria-busy', 'true', { timeout: 120_000 });
  await expect(page.locator('.card')).toHaveCount(4);
  await expect(page.locator('#rank-gallery, #rank-test')).toHaveCount(0);
  expect(await histTotals(page, 'page')).toEqual([4, 4, 4]);
  await expect(page.locator('.tradeoff-row')).toHaveCount(0);
  await expect(page.locator('#threshold')).toHaveValue('0.99');
  await expect(page.locator('#ranked > p').first()).toHaveText('FLOPs and labels as classified on this page, at threshold 0.99, caps 2/4/12.');
  expect(errors).toEqual([]);
});

test('demo without a CIFAR-10 archive: the gallery button stays disabled and the page says how to point it at one', async ({ page }, info) => {
  test.skip(info.project.name !== 'wasm', 'backend-independent');
  await page.route('**/datasets/cifar10-test.tar.gz', (r) => r.fulfill({ status: 404, body: 'no CIFAR-10 test archive at /a/shared/datasets/cifar10/test.tar.gz' }));
  await page.goto(`${DEMO}?backend=wasm`);
  await page.waitForFunction(() => (window as any).demo?.ready === true);
  await expect(page.locator('#gallery-run')).toBeDisabled();
  await expect(page.locator('#gallery-status')).toContainText('looked at /a/shared/datasets/cifar10/test.tar.gz');
  await expect(page.locator('#gallery-status')).toContainText('IAMNN_CIFAR=/path/to/cifar10/test.tar.gz npm run demo');
  // the figures still say what they need, and the whole test set's histograms come from report.json alone
  await expect(page.locator('#ranked')).toHaveText('Classify your images or the sample gallery to fill this figure.');
  expect(await histTotals(page, 'report')).toEqual([10000, 10000, 10000]);
});
