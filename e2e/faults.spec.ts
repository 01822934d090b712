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
