/**
 * npm run bench: the BUILT bundle in Debian's Chromium, on WebGPU (SwiftShader here) and on WASM SIMD.
 * Prints one table and writes bench/results/<date>[-<label>].json (-2, -3, ... rather than overwrite). Needs the shipped model and the local CIFAR-10
 * test archive (IAMNN_CIFAR or ../shared/datasets/cifar10/test.tar.gz); the ONNX peer model is exported
 * from the shipped model by bench/export_onnx.py (Debian's python3-torch).
 *   node bench/run.mjs [--reps=5] [--curve=1000] [--backends=webgpu,wasm] [--only=adaptive] [--label=name]
 * --only=adaptive measures just adaptive vs maximum (for before/after comparisons of a change);
 * --only=profile prints where a call's time goes (kernel time by kernel and resolution vs wall time);
 * --only=threads [--threads=1,2] compares WASM thread counts (ours and onnxruntime-web's): one cross-origin isolated page per count
 * (e2e/serve.mjs's /isolated/), reps alternated between them, at batch 1 and 32;
 * --only=video times the live-video loop on a 640x480 fake camera ([--video_seconds=5] per variant; one sample
 * each, --reps does not apply).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { chromium } from 'playwright';
import { build } from 'vite';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const reps = Number(args.reps ?? 5);
const curve = Number(args.curve ?? 1000);
const backends = (args.backends ?? 'webgpu,wasm').split(',');
const ORIGIN = 'http://127.0.0.1:4175';
const videoSeconds = Number(args.video_seconds ?? 5);
const CHROME_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  // the video loop's camera: Chromium's fake device, 640x480 at 60 fps, granted without a prompt
  '--use-fake-device-for-media-stream=fps=60', '--use-fake-ui-for-media-stream'];

if (!existsSync('models/cifar10/model.json')) throw new Error('no models/cifar10/model.json');
const onnx = 'bench/onnx/cifar10-max.onnx';
if (args.only !== 'video' && (!existsSync(onnx) || statSync(onnx).mtimeMs < statSync('models/cifar10/model.json').mtimeMs)) {
  execFileSync('/usr/bin/python3', ['-m', 'bench.export_onnx', `--out=${onnx}`], { stdio: 'inherit' });
}
await build({ configFile: 'bench/vite.config.ts', logLevel: 'warn' });
const server = spawn(process.execPath, ['e2e/serve.mjs', '4175'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => server.stdout.once('data', resolve));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * WASM at each of `counts` threads, in one browser: a page per count (the WASM backend keeps its threads for the
 * page's lifetime), every rep timing each page in turn, the order reversed every other rep. tfjs runs at most
 * navigator.hardwareConcurrency / 2 threads, so the pages report twice the largest count as their cores (a CDP
 * override): on a 2-core machine, 2 threads then run on both cores.
 */
const THREADS_VARIANTS = [
  { name: 'batch 1', batch: 1, earlyExit: true }, { name: 'batch 32', batch: 32, earlyExit: true },
  { name: 'batch 1, maximum', batch: 1, earlyExit: false }, { name: 'batch 32, maximum', batch: 32, earlyExit: false },
  { name: 'onnxruntime-web, batch 1 (maximum)', onnx: 1 }, { name: 'onnxruntime-web, batch 32 (maximum)', onnx: 32 },
  { name: '1024² matmul', matmul: 1024 },
];

async function threadsComparison(counts) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROME_ARGS });
  browserVersion = browser.version();
  const runs = [];
  for (const numThreads of counts) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`[${numThreads} threads] page error: ${e.message}`));
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: 2 * Math.max(...counts) });
    await page.goto(`${ORIGIN}/isolated/bench/page/dist/index.html`);
    await page.waitForFunction(() => window.benchReady === true);
    const info = await page.evaluate((o) => window.prepareThreads(o), {
      modelUrl: `${ORIGIN}/models/cifar10/model.json`, onnxUrl: `${ORIGIN}/${onnx}`, datasetUrl: `${ORIGIN}/bench/datasets/cifar10-test.tar.gz`, numThreads, images: 128,
      variants: THREADS_VARIANTS,
    });
    if (info.wasmThreads !== numThreads) throw new Error(`numThreads ${numThreads} ran ${info.wasmThreads} thread(s): ${info.wasmThreadsOff}`);
    if (info.ortThreads !== null && info.ortThreads !== numThreads) throw new Error(`onnxruntime-web asked for ${numThreads} thread(s) runs ${info.ortThreads}`);
    runs.push({ numThreads, page, info, ms: Object.fromEntries(THREADS_VARIANTS.map((v) => [v.name, []])) });
  }
  console.error(`timing ${counts.join(' vs ')} threads…`);
  for (let r = 0; r < reps; r++) {
    for (const v of THREADS_VARIANTS) {
      for (const run of r % 2 ? [...runs].reverse() : runs) run.ms[v.name].push(await run.page.evaluate((x) => window.timeThreads(x), v));
    }
  }
  const out = [];
  for (const { numThreads, page, info, ms } of runs) {
    const { numTensorsAfter } = await page.evaluate(() => window.endThreads());
    if (numTensorsAfter) throw new Error(`${numThreads} threads: ${numTensorsAfter} tensors left after the benchmark`);
    out.push({ numThreads, info, medians: Object.fromEntries(Object.entries(ms).map(([k, xs]) => [k, median(xs)])), reps: ms });
  }
  await browser.close();
  return { backend: 'wasm', threads: out };
}

const results = [];
let browserVersion = '';
try {
  if (args.only === 'threads') results.push(await threadsComparison((args.threads ?? '1,2').split(',').map(Number)));
  for (const backend of args.only === 'threads' ? [] : backends) {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: backend === 'webgpu' ? [...CHROME_ARGS, '--enable-unsafe-webgpu'] : CHROME_ARGS });
    browserVersion = browser.version();
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`[${backend}] page error: ${e.message}`));
    await page.goto(`${ORIGIN}/bench/page/dist/index.html`);
    await page.waitForFunction(() => window.benchReady === true);
    console.error(`running ${backend}…`);
    const r = await page.evaluate((o) => window.runBench(o), {
      backend, modelUrl: `${ORIGIN}/models/cifar10/model.json`, onnxUrl: existsSync(onnx) ? `${ORIGIN}/${onnx}` : null,
      // WebGPU here is SwiftShader (a software GPU): fewer images keep its run in minutes.
      datasetUrl: `${ORIGIN}/bench/datasets/cifar10-test.tar.gz`, reps, curveImages: backend === 'webgpu' ? Math.min(curve, 64) : curve,
      batchImages: backend === 'webgpu' ? 32 : 64, singleImages: backend === 'webgpu' ? 8 : 16,
      thresholds: [0.3, 0.5, 0.7, 0.9, 0.99], only: args.only ?? null, videoSeconds,
    });
    results.push(r);
    await browser.close();
    // a leak would also skew the timings: every tensor must be gone once the page disposed the model
    if (r.numTensorsAfter) throw new Error(`${backend}: ${r.numTensorsAfter} tensors left after the benchmark`);
  }
} finally {
  server.kill();
}

const size = (f) => (existsSync(f) ? statSync(f).size : null);
/** An ES module entry with the chunks it imports statically (not the lazy ones, e.g. the threads chunk): what a
 *  page that imports it downloads. */
function esmSize(entry, seen = new Set()) {
  if (seen.has(entry)) return 0;
  seen.add(entry);
  const text = readFileSync(entry, 'utf8');
  const deps = [...text.matchAll(/(?:^|;|\n)\s*(?:import|export)\s[^;('"]*?["'](\.\/[^"']+\.js)["']/g)].map((m) => `dist/${m[1].slice(2)}`);
  return statSync(entry).size + deps.reduce((a, d) => a + esmSize(d, seen), 0);
}
const pkg = (name) => JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')).version;
const shards = JSON.parse(readFileSync('models/cifar10/model.json', 'utf8')).weightsManifest[0].paths;
const report = {
  date: new Date().toISOString(),
  machine: { cpus: `${os.cpus().length} x ${os.cpus()[0]?.model}`, memGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}` },
  versions: { chromium: browserVersion, node: process.version, tfjs: pkg('@tensorflow/tfjs-core'), onnxruntimeWeb: pkg('onnxruntime-web'), playwright: pkg('playwright') },
  sizes: {
    esm: esmSize('dist/iamnn.js'), esmWasmOnly: esmSize('dist/iamnn-wasm.js'), iife: size('dist/iamnn.iife.js'), wasmSimd: size('dist/tfjs-backend-wasm-simd.wasm'), wasm: size('dist/tfjs-backend-wasm.wasm'),
    model: shards.reduce((a, p) => a + size(`models/cifar10/${p}`), size('models/cifar10/model.json')), onnxMax: size(onnx),
  },
  reps, label: args.label ?? null, commit: execFileSync('git', ['describe', '--always', '--dirty']).toString().trim(), results,
};
mkdirSync('bench/results', { recursive: true });
const stem = `bench/results/${report.date.slice(0, 10)}${args.label ? `-${args.label}` : ''}`;
let file = `${stem}.json`;
for (let k = 2; existsSync(file); k++) file = `${stem}-${k}.json`;
writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);

const f1 = (x) => (x == null ? 'n/a' : x.toFixed(1));
if (args.only === 'profile') {
  for (const r of results) {
    for (const p of r.profiles) {
      console.log(`\n${r.backend}, batch ${p.batch}, ${p.earlyExit ? 'adaptive' : 'maximum'}: wall ${p.wallMs.toFixed(2)} ms, kernels ${p.kernelMs.toFixed(2)} ms in ${p.kernelCalls} calls, other ${(p.wallMs - p.kernelMs).toFixed(2)} ms`);
      for (const k of p.kernels.slice(0, 12)) console.log(`  ${k.kernel.padEnd(28)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(2).padStart(8)} ms`);
    }
  }
  console.log(`\nwritten to ${file}`);
  process.exit(0);
}
if (args.only === 'threads') {
  const runs = results[0].threads;
  for (const t of runs) console.log(`${t.numThreads} thread(s): ${t.info.wasmThreadsOff ?? 'the threaded build'}, init ${f1(t.info.backendInitMs)} ms`);
  for (const { name, matmul } of THREADS_VARIANTS) {
    const base = runs[0].medians[name];
    const each = runs.map((t) => `${t.numThreads}: ${f1(t.medians[name])}${t === runs[0] ? '' : ` (${(base / t.medians[name]).toFixed(2)}x)`}`);
    console.log(`${name}, ${matmul ? 'ms' : 'ms/img'} by thread count: ${each.join(', ')}`);
  }
  for (const t of runs) {
    const vs = (ours, theirs) => `${f1(t.medians[ours])} vs ${f1(t.medians[theirs])} ms/img (theirs / ours ${(t.medians[theirs] / t.medians[ours]).toFixed(2)}x)`;
    console.log(`${t.numThreads} thread(s), ours at max vs onnxruntime-web: batch 1 ${vs('batch 1, maximum', 'onnxruntime-web, batch 1 (maximum)')}, batch 32 ${vs('batch 32, maximum', 'onnxruntime-web, batch 32 (maximum)')}`);
  }
  console.log(`\n${report.machine.cpus}, Chromium ${browserVersion}, tfjs ${report.versions.tfjs}; medians of ${reps} alternated reps; written to ${file}`);
  process.exit(0);
}
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const rows = [];
const videoRows = (r) => {
  const v = r.video;
  if (!v) return;
  if (v.error) { rows.push([r.backend, 'video 640x480', 'failed', v.error.slice(0, 80)]); return; }
  const loop = (x) => `${f1(x.classifiedFps)} fps of the camera's ${f1(x.cameraFps)}, call ${f1(x.medianCallMs)} ms, ${f1(x.meanFlops / 1e6)} MFLOPs`;
  rows.push([r.backend, `video ${v.size}, model's setting`, loop(v.own), `back-to-back classify(video): ${f1(v.backToBack.fps)} fps (${f1(v.backToBack.medianMs)} ms)`]);
  rows.push([r.backend, `video ${v.size}, 20 ms budget`, loop(v.budget), `classifyVideo frameBudgetMs: 20; mean ladder rung ${v.budget.meanLevel.toFixed(1)} of 5`]);
};
for (const r of results) {
  if (r.video && args.only === 'video') { videoRows(r); continue; }
  for (const a of r.adaptive) {
    const flopsSaved = 1 - a.flopsAdaptive / a.flopsMax;
    const timeSaved = 1 - a.adaptiveMs / a.maxMs;
    rows.push([r.backend, `adaptive vs max, batch ${a.batch}`, `${f1(a.adaptiveMs)} vs ${f1(a.maxMs)} ms/img`, `FLOPs ${pct(a.flopsAdaptive / a.flopsMax)} of max; time ${pct(a.adaptiveMs / a.maxMs)}; saving kept ${pct(timeSaved / flopsSaved)}`]);
  }
  if (!r.peak) continue;
  const b32 = r.adaptive.find((a) => a.batch === 32);
  const ours = (b32.flopsAdaptive / 1e9) / (b32.adaptiveMs / 1e3);
  rows.push([r.backend, 'achieved vs peak (1024² matmul)', `${ours.toFixed(2)} vs ${r.peak.gflops.toFixed(2)} GFLOP/s`, pct(ours / r.peak.gflops)]);
  if (r.onnx?.error) rows.push([r.backend, 'onnxruntime-web (max iterations)', 'failed', r.onnx.error.slice(0, 80)]);
  else if (r.onnx) {
    for (const batch of [1, 32]) {
      const a = r.adaptive.find((x) => x.batch === batch);
      const ortMs = r.onnx[`batch${batch}MsPerImage`];
      rows.push([r.backend, `onnxruntime-web max, batch ${batch}`, `${f1(ortMs)} ms/img`, `ours max ${f1(a.maxMs)} (${(a.maxMs / ortMs).toFixed(2)}x), adaptive ${f1(a.adaptiveMs)} (${(a.adaptiveMs / ortMs).toFixed(2)}x)`]);
    }
  }
  const c = r.coldStart;
  rows.push([r.backend, 'cold start', `init ${f1(c.backendInitMs)} + load ${f1(c.downloadMs)} + warm-up ${f1(c.warmupMs)} ms`, `1st ${f1(c.firstClassifyMs)} ms, 2nd ${f1(c.secondClassifyMs)} ms`]);
  for (const p of r.curve) rows.push([r.backend, `threshold ${p.threshold} (${p.images} imgs)`, `acc ${(100 * p.accuracy).toFixed(1)}%`, `mean ${(p.meanFlops / 1e6).toFixed(1)} MFLOPs (${pct(p.meanFlops / r.flopsMax)})`]);
  videoRows(r);
}
const kb = (x) => (x == null ? 'n/a' : `${(x / 1024).toFixed(0)} KiB`);
rows.push(['-', 'sizes', `ESM ${kb(report.sizes.esm)} (iamnn/wasm ${kb(report.sizes.esmWasmOnly)}) + tfjs, IIFE ${kb(report.sizes.iife)}`, `wasm-simd ${kb(report.sizes.wasmSimd)}, model ${kb(report.sizes.model)}, ONNX max ${kb(report.sizes.onnxMax)}`]);
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), 8));
const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(['backend', 'measure', 'value', 'comparison']));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
rows.forEach((r) => console.log(line(r)));
console.log(`\n${report.machine.cpus}, Chromium ${browserVersion}, tfjs ${report.versions.tfjs}, onnxruntime-web ${report.versions.onnxruntimeWeb}; medians of ${reps} reps; written to ${file}`);
