/**
 * e2e tests against the BUILT bundles (npm run build first), in Debian's Chromium, served on 127.0.0.1.
 * Two projects: `webgpu` (--enable-unsafe-webgpu: a real, software SwiftShader adapter) and `wasm`
 * (no flag: no adapter, so 'auto' must fall back to WASM SIMD).
 */
import { defineConfig } from '@playwright/test';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']; // a 640x480 fake camera for the video tests

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  timeout: 300_000,
  expect: { timeout: 30_000 },
  workers: 1,
  reporter: [['list']],
  outputDir: 'e2e/artifacts',
  projects: [
    { name: 'webgpu', use: { launchOptions: { executablePath, args: [...args, '--enable-unsafe-webgpu'] } } },
    { name: 'wasm', use: { launchOptions: { executablePath, args } } },
  ],
  webServer: {
    command: 'node e2e/serve.mjs 4173 4174',
    url: 'http://127.0.0.1:4173/e2e/pages/harness.js',
    reuseExistingServer: !process.env.CI,
    timeout: 30_000,
  },
});
