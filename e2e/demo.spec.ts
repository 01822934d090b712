/**
 * The built demo (demo/dist) on WebGPU and WASM: the model loads, your images classify, the
 * spectrum and histograms show every image, the CIFAR-10 gallery reports accuracy, the dial changes
 * compute, and the budget control re-runs everything. Screenshots go to e2e/artifacts/.
 */
import { expect, test, type Page } from '@playwright/test';
import { cifarArchive } from '../demo/dataset-path.mjs';

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

const histTotals = (page: Page) => page.$$eval('.hist', (figs) => figs.map((f) =>
  Array.from(f.querySelectorAll<HTMLElement>('.hist-bar')).reduce((a, b) => a + Number(b.dataset.count), 0)));

test('demo: load, classify, spectrum, histograms, gallery, dial, budget', async ({ page }, info) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const backend = info.project.name;
  await page.goto(`${DEMO}?backend=${backend}`);
  await page.waitForFunction(() => (window as any).demo?.ready === true, undefined, { timeout: 120_000 });
  // Backend, with a visible note when WebGPU runs on a software adapter (this project's SwiftShader)
  await expect(page.locator('#model-info dd').first()).toHaveText(backend === 'wasm' ? 'wasm (SIMD)' : /^webgpu — a software adapter \(SwiftShader\)/);
  await expect(page.locator('#threshold')).toHaveValue('0.99'); // the model's own threshold, on the slider's grid
  await expect(page.locator('#load-progress')).toHaveJSProperty('value', 1);

  await page.setInputFiles('#files', await pngs(page, 4));
  await expect(page.locator('.card')).toHaveCount(4);
  await expect(page.locator('.spectrum-item')).toHaveCount(4);
  await expect(page.locator('.hist')).toHaveCount(3);
  expect(await histTotals(page)).toEqual([4, 4, 4]);
  const flops = await page.$$eval('.spectrum-item', (els) => els.map((e) => Number((e as HTMLElement).dataset.flops)));
  expect(flops).toEqual([...flops].sort((a, b) => a - b));

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
    const n = backend === 'webgpu' ? 40 : 100; // WebGPU here is SwiftShader: a software GPU on 2 cores
    await page.fill('#gallery-n', String(n));
    await page.click('#gallery-run');
    await expect(page.locator('#gallery-status')).toContainText(`${n} CIFAR-10 test images: accuracy`, { timeout: 120_000 });
    total += n;
    await expect(page.locator('.spectrum-item')).toHaveCount(total);
    expect(await histTotals(page)).toEqual([total, total, total]);
  }

  // the dial: some degradation of the newest image must change the compute spent
  await page.locator('.card').first().click();
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
  await page.locator('#cap2').fill('12');
  expect(await page.$$eval('.tradeoff-row td:nth-child(2)', (tds) => tds.map((t) => t.textContent))).toEqual(['2/4/6', '2/4/6']);
  // the charts (uPlot): labelled axes with ticks, legend entries in distinct colours, nothing wider than its section
  for (const id of ['#dial', '#tradeoff']) {
    const c = page.locator(`${id} .chart`);
    await expect(c.locator('.u-axis')).toHaveCount(id === '#dial' ? 3 : 2); // x and each labelled y axis (uPlot draws ticks on them)
    // the page's own runs have an accuracy (and a point) only with the labelled CIFAR-10 gallery
    const want = id === '#dial' ? ['compute (MFLOPs)', 'confidence (%)'] : ['IamNN, halting thresholds (test set)', ...(cifarArchive() ? ['current setting'] : [])];
    expect(await c.locator('.u-legend .u-label').allTextContents()).toEqual(expect.arrayContaining(want));
    const colours = await c.locator('.u-legend .u-marker').evaluateAll((ms) => ms.map((m) => getComputedStyle(m).borderColor).filter((col) => col !== 'rgba(0, 0, 0, 0)'));
    expect(new Set(colours).size, `${id} legend colours ${colours}`).toBeGreaterThan(1);
  }
  const overflow = await page.$$eval('section', (secs) => secs.flatMap((sec) => {
    const box = sec.getBoundingClientRect();
    return Array.from(sec.querySelectorAll<HTMLElement>('.chart, .card, figure, table')).filter((e) => e.getBoundingClientRect().right > box.right + 1).map((e) => e.className || e.tagName);
  }));
  expect(overflow).toEqual([]);
  // a phone and a desktop: nothing may stick out of its section at either width
  for (const width of [375, 1440]) {
    await page.setViewportSize({ width, height: 900 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    const outside = await page.$$eval('section', (secs) => secs.flatMap((sec) => {
      const box = sec.getBoundingClientRect();
      return Array.from(sec.querySelectorAll<HTMLElement>('.card, figure, table, .row > *, video'))
        .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > box.right + 1)
        .map((e) => `${e.tagName}.${e.className}`);
    }));
    expect(outside, `at ${width} px`).toEqual([]);
    await page.screenshot({ path: `e2e/artifacts/demo-${backend}-${width}.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS) await page.screenshot({ path: `docs/screenshots/demo-${backend}-${width}.png`, fullPage: true });
  }
  if (process.env.UPDATE_SCREENSHOTS && backend === 'webgpu') await page.screenshot({ path: 'docs/demo.png', fullPage: true });
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
});
