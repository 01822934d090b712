/** Fault injection against the built ES module bundle: a stuck input never blocks the page's other calls. */
import { expect, test } from '@playwright/test';

const ORIGIN = 'http://127.0.0.1:4173';

test('a stalled image times out on its own and a source-less video rejects at once, while another call goes through', async ({ page }, info) => {
  await page.goto(`${ORIGIN}/e2e/app/dist/index.html`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  const out = await page.evaluate((o) => (window as any).runStalled(o), {
    modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, backend: info.project.name, stallUrl: `${ORIGIN}/stall/photo.png`,
  });
  expect(out.video.error).toBe('IamNNInputError:not-loaded');
  expect(out.video.ms).toBeLessThan(500);
  expect(out.good.ok).toBeTruthy();
  expect(out.good.ms).toBeLessThan(out.img.ms); // it did not queue behind the stalled image
  expect(out.img.error).toBe('IamNNInputError:timed-out');
  expect(out.img.ms).toBeGreaterThanOrEqual(1400);
  expect(out.img.ms).toBeLessThan(5000);
});

const SCRIPT_TAG = 'http://127.0.0.1:4174/e2e/pages/script-tag.html';
const TINY = `${ORIGIN}/test/fixtures/tiny/model.json`;

const NOT_WASM = `${ORIGIN}/README.md`; // served fine, but not WebAssembly: compiling it aborts the init
for (const [what, badPaths] of [
  ['a .wasm 404', `${ORIGIN}/nowhere/`],
  ['a file that is not WebAssembly', { 'tfjs-backend-wasm.wasm': NOT_WASM, 'tfjs-backend-wasm-simd.wasm': NOT_WASM, 'tfjs-backend-wasm-threaded-simd.wasm': NOT_WASM }],
] as const) {
  test(`a failed WASM initialisation (${what}) can be retried in the same page with the right wasmPaths`, async ({ page }, info) => {
    test.skip(info.project.name !== 'wasm', 'WASM only');
    await page.goto(SCRIPT_TAG);
    await page.waitForFunction(() => (window as any).harnessReady === true);
    const out = await page.evaluate((o) => (window as any).runWasmRetry(o), { modelUrl: TINY, badPaths });
    expect(out.first.name).toBe('BackendError');
    // the error names the URL it fetched and why it failed
    // (the test server's 404 carries no CORS header, so from this other-origin page it reads as a CORS refusal)
    expect(out.first.message).toContain(typeof badPaths === 'string' ? `GET ${badPaths}tfjs-backend-wasm-simd.wasm: Failed to fetch (offline, or another origin without CORS)` : `${NOT_WASM} is not WebAssembly`);
    expect(out.second).toEqual({ backend: 'wasm', label: expect.any(String) });
  });
}

test('the script-tag bundle in a classic worker finds its .wasm files with default options', async ({ page }, info) => {
  test.skip(info.project.name !== 'wasm', 'WASM only');
  await page.goto(SCRIPT_TAG);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  expect(await page.evaluate((o) => (window as any).runClassicWorker(o), { modelUrl: TINY })).toEqual({ backend: 'wasm', label: expect.any(String) });
});

test('a lost WebGPU device fails the running call with a BackendError, the model moves to WASM by itself, and a fresh load gets a new device', async ({ page }, info) => {
  test.skip(info.project.name !== 'webgpu', 'needs a WebGPU device to lose');
  await page.goto(`${ORIGIN}/e2e/app/dist/index.html`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  const out = await page.evaluate((o) => (window as any).runDeviceLoss(o), { modelUrl: TINY });
  expect(out.inFlight).toMatch(/^BackendError: the WebGPU device was lost/);
  expect(out.event).toMatchObject({ from: 'webgpu', to: 'wasm', reason: expect.stringContaining('destroyed') });
  expect(out.after.backend).toBe('wasm');
  expect(out.after.sameIterations).toBe(true);
  expect(out.after.diff).toBeLessThan(1e-4);
  expect(out.info.backend).toBe('wasm');
  expect(out.fresh).toEqual({ backend: 'webgpu', label: true });
});

test('an 8000x6000 canvas classifies the same on WebGPU as on WASM (never as a blank upload)', async ({ page }, info) => {
  test.skip(info.project.name !== 'webgpu', 'needs both backends in one page');
  await page.goto(`${ORIGIN}/e2e/app/dist/index.html`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  const out = await page.evaluate((o) => (window as any).runHuge(o), { modelUrl: TINY });
  expect([out.webgpu.backend, out.wasm.backend]).toEqual(['webgpu', 'wasm']);
  expect(out.webgpu.iterations).toEqual(out.wasm.iterations);
  out.webgpu.logits.forEach((v: number, j: number) => expect(Math.abs(v - out.wasm.logits[j])).toBeLessThan(1e-4));
});

test('broken models and tensor look-alikes are typed errors: a NaN weight, shard paths outside the folder, a stalled download', async ({ page }, info) => {
  await page.goto(`${ORIGIN}/e2e/app/dist/index.html`);
  await page.waitForFunction(() => (window as any).harnessReady === true);
  const out = await page.evaluate((o) => (window as any).runBrokenModels(o), {
    modelUrl: `${ORIGIN}/test/fixtures/tiny/model.json`, stallUrl: `${ORIGIN}/stall/model.json`, backend: info.project.name,
  });
  expect(out).toEqual({
    nanWeight: expect.stringMatching(/^ModelFormatError:\w+\/\w+/), // names the weight
    escapingPath: 'ModelFormatError:weightsManifest[0].paths[0]',
    otherOrigin: 'ModelFormatError:weightsManifest[0].paths[0]',
    stalled: `ModelLoadError:${ORIGIN}/stall/model.json`,
    duckTensor: 'IamNNInputError:unsupported-type',
  });
});
