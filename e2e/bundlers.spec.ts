/**
 * The README's app recipe, literally: a fresh Vite app and a fresh webpack 5 app install the npm tarball
 * (`npm pack`) with its peers, import the package and its model module (`iamnn/models/cifar10`), build, and
 * the built app classifies on WASM like PyTorch: the bundlers copied the .wasm files, model.json and the
 * shards, and load() found them under their new names. Node-side builds, one browser check: wasm project only.
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const ROOT = resolve('.');
const WORK = join(ROOT, 'e2e/artifacts/bundlers'); // served by the test server, ignored by git
const require = createRequire(import.meta.url);

test.describe.configure({ mode: 'serial', timeout: 600_000 });
test.beforeEach(({}, info) => test.skip(info.project.name !== 'wasm', 'the builds are Node-side; one browser check is enough'));

let tarball = '';

function freshApp(name: string): string {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  copyFileSync('e2e/bundlers/main.js', join(dir, 'src/main.js'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `fresh-${name}-app`, private: true, type: 'module', dependencies: { iamnn: `file:${tarball}` } }));
  // npm installs the peers (@tensorflow/*) too; --prefer-offline uses the cache this project's npm ci filled
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: 'pipe' });
  return dir;
}

async function classifyIn(page: import('@playwright/test').Page, url: string) {
  await page.goto(url);
  const r = await (await page.waitForFunction(() => (window as any).result)).jsonValue();
  expect(r.error).toBeUndefined();
  expect(r.backend).toBe('wasm');
  expect(r.iterations).toEqual(r.want.iterations);
  r.logits.forEach((v: number, j: number) => expect(Math.abs(v - r.want.logits[j])).toBeLessThan(1e-4));
}

test.beforeAll(() => {
  mkdirSync(WORK, { recursive: true });
  for (const f of readdirSync(WORK).filter((f) => f.endsWith('.tgz'))) rmSync(join(WORK, f));
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', WORK], { encoding: 'utf8' }));
  tarball = join(WORK, pack.filename);
});

test('a fresh Vite app built from the npm tarball classifies like PyTorch', async ({ page }) => {
  const dir = freshApp('vite');
  copyFileSync('e2e/bundlers/index.html', join(dir, 'index.html'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--base=./', '--logLevel=warn'], { cwd: dir, stdio: 'pipe' });
  await classifyIn(page, 'http://127.0.0.1:4173/e2e/artifacts/bundlers/vite/dist/index.html');
});

test('a fresh webpack 5 app built from the npm tarball classifies like PyTorch', async ({ page }) => {
  const dir = freshApp('webpack');
  const webpack = require('webpack');
  const stats = await new Promise<any>((done, fail) => webpack({
    mode: 'production',
    context: dir,
    entry: './src/main.js',
    output: { path: join(dir, 'dist'), publicPath: 'auto', clean: true },
    resolve: { modules: [join(dir, 'node_modules')] },
    performance: { hints: false },
  }, (err: Error | null, s: any) => (err ? fail(err) : done(s))));
  expect(stats.hasErrors(), stats.toString('errors-only')).toBe(false);
  writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><meta charset="utf-8"><title>webpack app</title><script src="./main.js"></script>');
  await classifyIn(page, 'http://127.0.0.1:4173/e2e/artifacts/bundlers/webpack/dist/index.html');
});
