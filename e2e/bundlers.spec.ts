/**
 * The README's app recipe, literally: fresh Vite and webpack 5 apps install the npm tarball (`npm pack`) with
 * its peers, import the package (`iamnn`, every backend, or one backend's entry: `iamnn/wasm`, `iamnn/webgpu`,
 * `iamnn/cpu`) and its model module (`iamnn/models/cifar10`), build, and the built app classifies like PyTorch:
 * the bundlers copied the .wasm files, model.json and the shards, and load() found them under their new names.
 * A single-backend app's JS holds no other backend (each backend's own strings are absent, and present in the
 * all-backends app) and is smaller; an app importing two entries has those two. Builds are Node-side; the
 * browser checks run on WASM (the wasm project) and, for `iamnn/webgpu`, on WebGPU (the webgpu project). Every entry's and app's size, raw and gzip, is
 * written to e2e/bundlers/apps/sizes.md (docs/performance.md#sizes).
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ownServer } from './own-server';

const ROOT = resolve('.');
// Served by the test server, ignored by git; not under Playwright's outputDir, which every run empties
const WORK = join(ROOT, 'e2e/bundlers/apps');
const URL_BASE = 'http://127.0.0.1:4173/e2e/bundlers/apps';
const require = createRequire(import.meta.url);

test.describe.configure({ mode: 'serial', timeout: 600_000 });

/** A string found only in each tfjs backend's own code (not in the kernels the others share from -cpu). */
const BACKEND_MARKERS = {
  webgpu: 'workgroup_size', // WGSL shader source
  wasm: 'WASM_HAS_MULTITHREAD_SUPPORT', // tfjs-backend-wasm's flag
  cpu: 'The reported memory is an upper bound', // MathBackendCPU.memory()
} as const;
type Backend = keyof typeof BACKEND_MARKERS;

interface Size { raw: number; gzip: number }
const size = (files: string[]): Size => files.reduce((s, f) => {
  const bytes = readFileSync(f);
  return { raw: s.raw + bytes.length, gzip: s.gzip + gzipSync(bytes).length };
}, { raw: 0, gzip: 0 });
const kib = (n: number) => `${(n / 1024).toFixed(1)}`;

/** The files under `dir` whose names end in `ext`. */
function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

/** One npm install of the tarball, shared by every app folder below it (npm installs the @tensorflow peers too). */
let installed = false;
function install(): void {
  if (installed) return;
  mkdirSync(WORK, { recursive: true });
  // a fresh install, but the apps the other project built stay for sizes.md
  for (const f of readdirSync(WORK).filter((f) => f.endsWith('.tgz') || f === 'node_modules' || f === 'package-lock.json')) rmSync(join(WORK, f), { recursive: true });
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', WORK], { encoding: 'utf8' }));
  writeFileSync(join(WORK, 'package.json'), JSON.stringify({ name: 'fresh-apps', private: true, type: 'module', dependencies: { iamnn: `file:./${pack.filename}` } }));
  // --prefer-offline uses the cache this project's npm ci filled
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: WORK, stdio: 'pipe' });
  installed = true;
}

/** A fresh app folder whose src/main.js is e2e/bundlers/main.js taking `load` from `entry`, importing `also` too. */
function freshApp(name: string, [entry, ...also]: string[]): string {
  install();
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  const main = readFileSync('e2e/bundlers/main.js', 'utf8');
  writeFileSync(join(dir, 'src/main.js'), main.replace("from 'iamnn';", [`from '${entry}';`, ...also.map((e) => `import '${e}';`)].join('\n')));
  return dir;
}

/** The built apps of this run, by name: their output folder. */
const built = new Map<string, string>();

function viteApp(name: string, ...entries: string[]): string {
  if (built.has(name)) return built.get(name)!;
  const dir = freshApp(name, entries);
  writeFileSync(join(dir, 'index.html'), readFileSync('e2e/bundlers/index.html'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--base=./', '--logLevel=warn'], { cwd: dir, stdio: 'pipe' });
  return record(name, entries, join(dir, 'dist'));
}

async function webpackApp(name: string, ...entries: string[]): Promise<string> {
  if (built.has(name)) return built.get(name)!;
  const dir = freshApp(name, entries);
  const webpack = require('webpack');
  const stats = await new Promise<any>((done, fail) => webpack({
    mode: 'production',
    context: dir,
    entry: './src/main.js',
    output: { path: join(dir, 'dist'), publicPath: 'auto', clean: true },
    resolve: { modules: [join(WORK, 'node_modules')] },
    performance: { hints: false },
  }, (err: Error | null, s: any) => (err ? fail(err) : done(s))));
  expect(stats.hasErrors(), stats.toString('errors-only')).toBe(false);
  writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><meta charset="utf-8"><title>webpack app</title><script src="./main.js"></script>');
  return record(name, entries, join(dir, 'dist'));
}

/** Keep an app's sizes (its JS; its .wasm files) for sizes.md. */
function record(name: string, entries: string[], dist: string): string {
  const sizes = { entry: entries.join(' + '), js: size(filesUnder(dist, '.js')), wasm: size(filesUnder(dist, '.wasm')) };
  writeFileSync(join(WORK, name, 'sizes.json'), JSON.stringify(sizes));
  built.set(name, dist);
  return dist;
}

/** The app's emitted JavaScript, all files together. */
const appJs = (dist: string) => filesUnder(dist, '.js').map((f) => readFileSync(f, 'utf8')).join('\n');

async function classifyIn(page: import('@playwright/test').Page, dist: string, backend: Backend, base = URL_BASE) {
  await page.goto(`${base}/${relative(WORK, dist)}/index.html`);
  const r = await (await page.waitForFunction(() => (window as any).result)).jsonValue();
  expect(r.error).toBeUndefined();
  expect(r.backend).toBe(backend);
  expect(r.iterations).toEqual(r.want.iterations);
  r.logits.forEach((v: number, j: number) => expect(Math.abs(v - r.want.logits[j])).toBeLessThan(1e-4));
  return r;
}

/** `dist`'s JS holds the tfjs backends `backends` and none of the others. */
function expectOnly(dist: string, ...backends: Backend[]) {
  const js = appJs(dist);
  for (const [b, marker] of Object.entries(BACKEND_MARKERS)) {
    expect(js.includes(marker), `${b} backend in the app on ${backends.join(' + ')}`).toBe(backends.includes(b as Backend));
  }
}

const onProject = (name: string) => test.beforeEach(({}, info) => test.skip(info.project.name !== name, `runs on the ${name} project`));

test.describe('every backend (iamnn)', () => {
  onProject('wasm');

  test('a fresh Vite app built from the npm tarball classifies like PyTorch', async ({ page }) => {
    const dist = viteApp('vite', 'iamnn');
    const js = appJs(dist);
    for (const marker of Object.values(BACKEND_MARKERS)) expect(js).toContain(marker); // what expectOnly looks for
    await classifyIn(page, dist, 'wasm');
  });

  test('a fresh webpack 5 app built from the npm tarball classifies like PyTorch', async ({ page }) => {
    await classifyIn(page, await webpackApp('webpack', 'iamnn'), 'wasm');
  });

  // The minified app bundles in which tfjs's threaded build used to hang (e2e/threads.spec.ts has the rest)
  test('the fresh Vite and webpack apps served cross-origin isolated run WASM on 2 threads (4 cores emulated)', async ({ page }) => {
    const server = await ownServer(4178);
    try {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: 4 });
      for (const dist of [viteApp('vite', 'iamnn'), await webpackApp('webpack', 'iamnn')]) {
        const r = await classifyIn(page, dist, 'wasm', `${server.origin}/isolated/e2e/bundlers/apps`);
        expect(r, relative(WORK, dist)).toMatchObject({ wasmThreads: 2 });
        expect(r.wasmThreadsOff).toBeUndefined();
      }
      expect(filesUnder(viteApp('vite', 'iamnn'), '.wasm').some((f) => f.includes('threaded-simd'))).toBe(true); // copied by the bundler
    } finally {
      server.close();
    }
  });
});

test.describe('one backend (iamnn/wasm, iamnn/cpu, iamnn/webgpu)', () => {
  test.describe('on WASM', () => {
    onProject('wasm');

    test('a Vite app on iamnn/wasm classifies like PyTorch, with no WebGPU or CPU backend in its JS, and is smaller', async ({ page }) => {
      const all = size(filesUnder(viteApp('vite', 'iamnn'), '.js'));
      const dist = viteApp('vite-wasm', 'iamnn/wasm');
      expectOnly(dist, 'wasm');
      const one = size(filesUnder(dist, '.js'));
      expect(one.raw, `iamnn/wasm ${kib(one.raw)} KiB vs iamnn ${kib(all.raw)} KiB`).toBeLessThan(all.raw * 0.6);
      await classifyIn(page, dist, 'wasm');
    });

    test('a webpack 5 app on iamnn/wasm classifies like PyTorch, with no WebGPU or CPU backend in its JS', async ({ page }) => {
      const dist = await webpackApp('webpack-wasm', 'iamnn/wasm');
      expectOnly(dist, 'wasm');
      await classifyIn(page, dist, 'wasm');
    });

    test('a Vite app on iamnn/cpu classifies like PyTorch on CPU and ships no .wasm files', async ({ page }) => {
      const dist = viteApp('vite-cpu', 'iamnn/cpu');
      expectOnly(dist, 'cpu');
      expect(filesUnder(dist, '.wasm')).toEqual([]);
      await classifyIn(page, dist, 'cpu');
    });
  });

  test.describe('on WebGPU', () => {
    onProject('webgpu');

    test('a Vite app on iamnn/webgpu classifies like PyTorch on WebGPU (auto: no WASM to prefer) and ships no .wasm files', async ({ page }) => {
      const dist = viteApp('vite-webgpu', 'iamnn/webgpu');
      expectOnly(dist, 'webgpu');
      expect(filesUnder(dist, '.wasm')).toEqual([]);
      await classifyIn(page, dist, 'webgpu');
    });

    test('a Vite app on iamnn/webgpu that also imports iamnn/wasm has both backends and no CPU; auto takes WASM over a software adapter', async ({ page }) => {
      const dist = viteApp('vite-webgpu-wasm', 'iamnn/webgpu', 'iamnn/wasm');
      expectOnly(dist, 'webgpu', 'wasm');
      await classifyIn(page, dist, 'wasm');
    });
  });
});

/** sizes.md: every package entry (with the chunks it imports) and every app built so far, raw and gzip. */
test.afterAll(() => {
  if (!existsSync(WORK)) return;
  const dist = join(ROOT, 'dist');
  const withChunks = (file: string, seen = new Set<string>()): string[] => {
    if (seen.has(file)) return [];
    seen.add(file);
    const imports = [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*"(\.\/[^"]+\.js)"/g)].map((m) => join(dist, m[1]));
    return [file, ...imports.flatMap((f) => withChunks(f, seen))];
  };
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const rows = ['| what | JS raw KiB | JS gzip KiB | .wasm raw KiB |', '|---|---|---|---|'];
  for (const [spec, target] of Object.entries<any>(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.import;
    if (!file.startsWith('./dist/') || !file.endsWith('.js')) continue;
    const files = withChunks(join(ROOT, file));
    const s = size(files);
    rows.push(`| \`${join('iamnn', spec)}\` (${file.slice(7)}${files.length > 1 ? ' + its chunks' : ''}) | ${kib(s.raw)} | ${kib(s.gzip)} | |`);
  }
  const worker = size([join(dist, 'iamnn.worker.js')]);
  rows.push(`| the worker-mode worker (iamnn.worker.js, loaded by iamnn/worker) | ${kib(worker.raw)} | ${kib(worker.gzip)} | |`);
  const wasm = size(filesUnder(dist, '.wasm'));
  rows.push(`| the .wasm binaries in dist/ (plain, SIMD, threaded SIMD) | | | ${kib(wasm.raw)} (gzip ${kib(wasm.gzip)}) |`);
  for (const name of readdirSync(WORK).filter((d) => existsSync(join(WORK, d, 'sizes.json'))).sort()) {
    const s = JSON.parse(readFileSync(join(WORK, name, 'sizes.json'), 'utf8'));
    rows.push(`| app \`${name}\` on \`${s.entry}\` | ${kib(s.js.raw)} | ${kib(s.js.gzip)} | ${s.wasm.raw ? kib(s.wasm.raw) : 'none'} |`);
  }
  writeFileSync(join(WORK, 'sizes.md'), `${rows.join('\n')}\n`);
});
