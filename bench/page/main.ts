/**
 * Measurements inside one tab, for one backend (bench/run.mjs opens one tab per backend).
 * Variants are interleaved rep by rep and reported as medians; the driver turns them into ratios.
 */
import * as tf from '@tensorflow/tfjs-core';
import { classifyVideo, load, type ClassifyOptions, type IamNNModel } from 'iamnn';
import * as ort from 'onnxruntime-web';
import { classesInTurn, readClassFolders } from '../../demo/samples';

interface Options {
  backend: 'webgpu' | 'wasm';
  modelUrl: string;
  onnxUrl: string | null;
  datasetUrl: string;
  reps: number;
  curveImages: number;
  thresholds: number[];
  /** Images for the batch-32 comparison (a multiple of 32) and for batch 1. */
  batchImages: number;
  singleImages: number;
  /** 'adaptive': only adaptive vs maximum; 'profile': only kernel profiles of both; 'video': only the video loop. */
  only: string | null;
  /** Seconds of live video per video-loop variant. */
  videoSeconds: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function images(url: string, n: number): Promise<{ x: tf.Tensor4D; labels: string[] } | null> {
  let all;
  try {
    all = classesInTurn(await readClassFolders(url), n);
  } catch {
    return null;
  }
  const bitmaps = await Promise.all(all.map((a) => createImageBitmap(a.blob)));
  const x = tf.tidy(() => tf.stack(bitmaps.map((b) => tf.browser.fromPixels(b))) as tf.Tensor4D);
  bitmaps.forEach((b) => b.close());
  return { x, labels: all.map((a) => a.label) };
}

/** One pass per image (the mirror vote off): what early exit saves is measured on its own. */
const ONE_PASS = { mirrorBelow: 0 } as const;

/** Adaptive vs forced-maximum at one batch size: medians over interleaved reps. */
async function adaptiveVsMax(model: IamNNModel, x: tf.Tensor4D, batch: number, reps: number) {
  const batches = Array.from({ length: Math.floor(x.shape[0] / batch) }, (_, i) => tf.slice(x, [i * batch, 0, 0, 0], [batch, -1, -1, -1]) as tf.Tensor4D);
  const run = async (opts: ClassifyOptions) => {
    let flops = 0;
    const ms = await time(async () => { for (const b of batches) flops += (await model.classifyBatch(b, { ...ONE_PASS, ...opts })).reduce((a, r) => a + r.flops, 0); });
    return { ms: ms / (batches.length * batch), flops: flops / (batches.length * batch) };
  };
  await run({});
  await run({ earlyExit: false });
  const adaptive: number[] = [];
  const max: number[] = [];
  let flops = 0;
  for (let r = 0; r < reps; r++) {
    const a = await run({});
    adaptive.push(a.ms);
    flops = a.flops;
    max.push((await run({ earlyExit: false })).ms);
  }
  tf.dispose(batches);
  return { batch, images: batches.length * batch, adaptiveMs: median(adaptive), maxMs: median(max), flopsAdaptive: flops, flopsMax: model.info.flopsMax };
}

/**
 * Where one call's time goes: kernel time from tf.profile, summed by kernel and input resolution,
 * next to the unprofiled wall time of the same call. Wall minus kernels is the JS side: tensor
 * bookkeeping, halting readbacks, uploads of the halting weights and gather indices.
 */
async function profile(model: IamNNModel, x: tf.Tensor4D, batch: number, earlyExit: boolean, reps: number) {
  const b = tf.slice(x, [0, 0, 0, 0], [batch, -1, -1, -1]) as tf.Tensor4D;
  const call = () => model.classifyBatch(b, { ...ONE_PASS, earlyExit });
  await call();
  const walls: number[] = [];
  for (let r = 0; r < reps; r++) walls.push(await time(call));
  const info = await tf.profile(async () => { await call(); });
  b.dispose();
  const groups = new Map<string, { kernel: string; calls: number; ms: number }>();
  // tf.profile lists an op wrapper ("fusedConv2d__op") next to the kernel it runs: count kernels only.
  const kernelsRun = info.kernels.filter((k) => !k.name.endsWith('__op'));
  for (const k of kernelsRun) {
    const s = k.inputShapes[0];
    const kernel = s?.length === 4 ? `${k.name} ${s[1]}x${s[2]}` : k.name;
    const g = groups.get(kernel) ?? { kernel, calls: 0, ms: 0 };
    g.calls += 1;
    g.ms += k.kernelTimeMs as number;
    groups.set(kernel, g);
  }
  const kernels = [...groups.values()].sort((p, q) => q.ms - p.ms);
  return { batch, earlyExit, wallMs: median(walls), kernelMs: kernels.reduce((a, g) => a + g.ms, 0), kernelCalls: kernelsRun.length, kernels };
}

/**
 * The live-video path at 640x480 (Chromium's fake camera, which bench/run.mjs asks for at 60 fps): classifyVideo
 * at the model's own setting and holding a 20 ms budget (it moves along the compute ladder), and back-to-back
 * classify(video) calls, whose rate is the ceiling a faster camera could get. callMs includes reading the frame.
 * cameraFps: the frames the video presented (classifyVideo's classified + skipped, from presentedFrames).
 */
async function videoLoop(model: IamNNModel, seconds: number) {
  const video = document.createElement('video');
  video.muted = true;
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 60 } });
  try {
    video.srcObject = stream;
    await video.play();
    const size = `${video.videoWidth}x${video.videoHeight}`;
    const run = async (frameBudgetMs?: number) => {
      const calls: number[] = [];
      const flops: number[] = [];
      const levels: number[] = [];
      const loop = classifyVideo(model, video, { frameBudgetMs, onResult: (r) => { calls.push(r.callMs); flops.push(r.flops); levels.push(r.level); } });
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const { classified, skipped } = loop.stats;
      loop.stop();
      await loop.done;
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      return { frameBudgetMs: frameBudgetMs ?? null, cameraFps: (classified + skipped) / seconds, classifiedFps: classified / seconds, skipped, medianCallMs: median(calls), meanFlops: mean(flops), meanLevel: mean(levels) };
    };
    await run(); // warm-up at this input size
    const own = await run();
    const budget = await run(20);
    const backToBack: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) backToBack.push(await time(() => model.classify(video)));
    return { size, seconds, own, budget, backToBack: { calls: backToBack.length, medianMs: median(backToBack), fps: 1000 / median(backToBack) } };
  } finally {
    stream.getTracks().forEach((t) => t.stop());
  }
}

/** Peak GFLOP/s of this backend in this tab: a 1024x1024 matmul. */
async function peak(reps: number) {
  const n = 1024;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = () => time(async () => { const c = tf.matMul(a, b); await c.data(); c.dispose(); });
  await once();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) t.push(await once());
  const ms = median(t);
  tf.dispose([a, b]);
  return { gflops: (2 * n ** 3) / (ms * 1e6), ms };
}

/** An onnxruntime-web session on `threads` threads (more than 1 needs a cross-origin isolated page). */
async function ortSession(url: string, backend: string, threads: number): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = threads;
  // on an isolated page its workers' scripts need the isolating headers too: e2e/serve.mjs's /isolated/ prefix
  ort.env.wasm.wasmPaths = new URL(`${crossOriginIsolated ? '/isolated' : ''}/node_modules/onnxruntime-web/dist/`, location.href).href;
  // no spinning: on 2 cores, threads that spin after a run would take the CPU from the variant timed next
  return ort.InferenceSession.create(url, { executionProviders: [backend], extra: { session: { intra_op: { allow_spinning: '0' } } } });
}

/** The first `batch` images of `x` as the ONNX model's input: normalized NCHW float32. */
async function ortFeed(x: tf.Tensor4D, batch: number, mean: number[], std: number[]): Promise<Record<string, ort.Tensor>> {
  const [, h, w] = x.shape;
  const nchw = tf.tidy(() => tf.transpose(tf.div(tf.sub(tf.div(tf.slice(x, [0, 0, 0, 0], [batch, -1, -1, -1]), 255), mean), std), [0, 3, 1, 2]));
  const data = (await nchw.data()) as Float32Array;
  nchw.dispose();
  return { x: new ort.Tensor('float32', data, [batch, 3, h, w]) };
}

async function onnxPeer(url: string, backend: string, x: tf.Tensor4D, mean: number[], std: number[], reps: number) {
  const session = await ortSession(url, backend, 1);
  const out: Record<string, number> = {};
  for (const batch of [1, 32]) {
    const feed = await ortFeed(x, batch, mean, std);
    await session.run(feed);
    const calls = batch === 1 ? 32 : 1; // batch 1: 32 calls per rep, as ours and the threads comparison time it
    const t: number[] = [];
    for (let r = 0; r < reps; r++) t.push(await time(async () => { for (let i = 0; i < calls; i++) await session.run(feed); }));
    out[`batch${batch}MsPerImage`] = median(t) / (calls * batch);
  }
  await session.release();
  return out;
}

async function measure(o: Options) {
  const out: Record<string, unknown> = { backend: o.backend, userAgent: navigator.userAgent };
  const tLoad = performance.now();
  const model = await load(o.modelUrl, { backend: o.backend });
  const loadMs = performance.now() - tLoad;
  const data = await images(o.datasetUrl, Math.max(o.batchImages, o.singleImages, o.curveImages));
  if (!data) throw new Error(`the benchmark needs the CIFAR-10 test archive at ${o.datasetUrl}`);
  const one = tf.slice(data.x, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const first = await time(() => model.classifyBatch(one));
  const second = await time(() => model.classifyBatch(one));
  one.dispose();
  if (o.only === 'profile') {
    const profiles = [];
    for (const batch of [1, 32]) for (const earlyExit of [true, false]) profiles.push(await profile(model, data.x, batch, earlyExit, o.reps));
    out.profiles = profiles;
    data.x.dispose();
    model.dispose();
    return out;
  }
  if (o.only === 'video') {
    out.video = await videoLoop(model, o.videoSeconds).catch((e: Error) => ({ error: String(e.message ?? e).slice(0, 300) }));
    data.x.dispose();
    model.dispose();
    return out;
  }
  out.coldStart = { ...model.info.timings, loadTotalMs: loadMs, firstClassifyMs: first, secondClassifyMs: second, backend: model.info.backend, wasmSimd: model.info.wasmSimd };
  const x64 = tf.slice(data.x, [0, 0, 0, 0], [o.batchImages, -1, -1, -1]) as tf.Tensor4D;
  const singles = tf.slice(data.x, [0, 0, 0, 0], [o.singleImages, -1, -1, -1]) as tf.Tensor4D;
  out.adaptive = [await adaptiveVsMax(model, singles, 1, o.reps), await adaptiveVsMax(model, x64, 32, o.reps)];
  singles.dispose();
  out.flopsMax = model.info.flopsMax;
  if (o.only === 'adaptive') {
    tf.dispose([x64, data.x]);
    model.dispose();
    return out;
  }
  out.peak = await peak(o.reps);
  if (o.onnxUrl) {
    const norm = await (await fetch(o.modelUrl)).json();
    try {
      out.onnx = await onnxPeer(o.onnxUrl, o.backend, x64, norm.iamnn.normalization.mean, norm.iamnn.normalization.std, o.reps);
    } catch (e) {
      out.onnx = { error: String((e as Error).message ?? e).slice(0, 300) };
    }
  }
  x64.dispose();
  const curve = [];
  const xc = tf.slice(data.x, [0, 0, 0, 0], [o.curveImages, -1, -1, -1]) as tf.Tensor4D;
  for (const th of o.thresholds) {
    let correct = 0;
    let flops = 0;
    for (let i = 0; i < o.curveImages; i += 64) {
      const b = tf.slice(xc, [i, 0, 0, 0], [Math.min(64, o.curveImages - i), -1, -1, -1]) as tf.Tensor4D;
      const rs = await model.classifyBatch(b, { haltingThreshold: th });
      b.dispose();
      rs.forEach((r, j) => { correct += Number(r.label === data.labels[i + j]); flops += r.flops; });
    }
    curve.push({ threshold: th, accuracy: correct / o.curveImages, meanFlops: flops / o.curveImages, images: o.curveImages });
  }
  xc.dispose();
  data.x.dispose();
  out.curve = curve;
  out.video = await videoLoop(model, o.videoSeconds).catch((e: Error) => ({ error: String(e.message ?? e).slice(0, 300) }));
  model.dispose();
  return out;
}

/**
 * WASM threads: bench/run.mjs --only=threads opens one isolated page per thread count and alternates
 * timeThreads() between them, rep by rep. The page's WASM backend keeps its thread count, hence a page each.
 */
let threadsRun: { model: IamNNModel; x: tf.Tensor4D; a: tf.Tensor2D; b: tf.Tensor2D; ort: { session: ort.InferenceSession; feeds: Map<number, Record<string, ort.Tensor>> } | null } | null = null;

/** The model at a batch size (adaptive, or every image to the caps), one n x n matmul (the kernels alone), or
 *  onnxruntime-web's wasm EP on the same network at its maximum iterations (bench/export_onnx.py), as many threads. */
type ThreadsVariant = { batch: number; earlyExit: boolean } | { matmul: number } | { onnx: number };

async function prepareThreads(o: { modelUrl: string; onnxUrl: string | null; datasetUrl: string; numThreads: number; images: number; variants: ThreadsVariant[] }) {
  const model = await load(o.modelUrl, { backend: 'wasm', numThreads: o.numThreads });
  const data = await images(o.datasetUrl, o.images);
  if (!data) throw new Error(`the benchmark needs the CIFAR-10 test archive at ${o.datasetUrl}`);
  const n = Math.max(0, ...o.variants.map((v) => ('matmul' in v ? v.matmul : 0)));
  let onnx = null;
  const onnxBatches = o.variants.flatMap((v) => ('onnx' in v ? [v.onnx] : []));
  if (o.onnxUrl && onnxBatches.length) {
    const { mean, std } = (await (await fetch(o.modelUrl)).json()).iamnn.normalization;
    const feeds = new Map<number, Record<string, ort.Tensor>>();
    for (const b of onnxBatches) feeds.set(b, await ortFeed(data.x, b, mean, std));
    onnx = { session: await ortSession(o.onnxUrl, 'wasm', o.numThreads), feeds };
  }
  threadsRun = { model, x: data.x, a: tf.randomNormal([n, n]), b: tf.randomNormal([n, n]), ort: onnx };
  for (const v of o.variants) await timeThreads(v); // warm-up
  const { wasmThreads, wasmThreadsOff, wasmSimd, timings } = model.info;
  // onnxruntime-web falls back to 1 thread without saying so where it cannot start more: what it set
  const ortThreads = onnx ? ort.env.wasm.numThreads : null;
  return { wasmThreads, wasmThreadsOff, wasmSimd, ortThreads, backendInitMs: timings.backendInitMs, crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency };
}

/** One rep of `v`: ms per image over the prepared images (32 of them at batch 1), or ms of the matmul. */
async function timeThreads(v: ThreadsVariant): Promise<number> {
  const { model, x, a, b, ort: onnx } = threadsRun!;
  if ('matmul' in v) return time(async () => { const c = tf.matMul(a, b); await c.data(); c.dispose(); });
  if ('onnx' in v) {
    if (!onnx) throw new Error('no ONNX model for the onnxruntime-web variants');
    const feed = onnx.feeds.get(v.onnx)!;
    const runs = v.onnx === 1 ? Math.min(32, x.shape[0]) : 1; // batch 1: as many calls as ours makes
    return (await time(async () => { for (let i = 0; i < runs; i++) await onnx.session.run(feed); })) / (runs * v.onnx);
  }
  const n = v.batch === 1 ? Math.min(32, x.shape[0]) : x.shape[0];
  const batches = Array.from({ length: Math.floor(n / v.batch) }, (_, i) => tf.slice(x, [i * v.batch, 0, 0, 0], [v.batch, -1, -1, -1]) as tf.Tensor4D);
  const ms = await time(async () => { for (const one of batches) await model.classifyBatch(one, { ...ONE_PASS, earlyExit: v.earlyExit }); });
  tf.dispose(batches);
  return ms / (batches.length * v.batch);
}

async function endThreads() {
  await threadsRun?.ort?.session.release();
  if (threadsRun) tf.dispose([threadsRun.x, threadsRun.a, threadsRun.b]);
  threadsRun?.model.dispose();
  threadsRun = null;
  return { numTensorsAfter: tf.memory().numTensors };
}

/** Every variant of the run, then the tensors left over (the driver fails on any). */
async function runBench(o: Options) {
  const out = await measure(o);
  return { ...out, numTensorsAfter: tf.memory().numTensors };
}

Object.assign(window, { runBench, prepareThreads, timeThreads, endThreads });
(window as unknown as Record<string, unknown>).benchReady = true;
