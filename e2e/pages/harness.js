/**
 * Test harness shared by the script-tag page and the ES-module app: it uses only the public API
 * object it is given (window.IamNN or the module namespace), like a host page would.
 */
function decodeImages(parity) {
  const [n, h, w] = parity.shape;
  const bytes = Uint8Array.from(atob(parity.images), (ch) => ch.charCodeAt(0));
  return Array.from({ length: n }, (_, i) => {
    const rgba = new Uint8ClampedArray(h * w * 4);
    for (let p = 0; p < h * w; p++) {
      rgba.set(bytes.subarray((i * h * w + p) * 3, (i * h * w + p) * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    return new ImageData(rgba, w, h);
  });
}

function plain(result) {
  const { label, classIndex, probability, iterations, maxIterations, flops, flopsMax, logits, backend, topK } = result;
  return { label, classIndex, probability, iterations, maxIterations, flops, flopsMax, logits, backend, topK };
}

/**
 * Classify the parity images as in-document canvases, one by one and as a batch. `numTensors`
 * (pages that share the SDK's tfjs engine) reads tf.memory().numTensors: after load, after the
 * calls and after dispose, so a leak on the browser backends shows. `loadOptions` go to load too.
 */
export async function runParity(IamNN, { modelUrl, parityUrl, backend, loadOptions = {} }, numTensors = () => null) {
  const parity = await (await fetch(parityUrl)).json();
  const progress = [];
  const model = await IamNN.load(modelUrl, { ...loadOptions, backend, onProgress: (p) => progress.push(p.fraction) });
  const tensors = { loaded: numTensors() };
  const domEvents = [];
  const onDom = (e) => domEvents.push({ target: e.target.id, classIndex: e.detail.classIndex, iterations: e.detail.iterations });
  document.addEventListener('iamnn:result', onDom);
  const modelEvents = [];
  model.addEventListener('result', (e) => modelEvents.push(e.detail.classIndex));
  const box = document.createElement('div');
  document.body.append(box);
  const canvases = decodeImages(parity).map((img, i) => {
    const c = document.createElement('canvas');
    c.id = `img${i}`;
    c.width = img.width;
    c.height = img.height;
    c.getContext('2d').putImageData(img, 0, 0);
    box.append(c);
    return c;
  });
  const single = [];
  for (const c of canvases) single.push(plain(await model.classify(c)));
  const batch = (await model.classifyBatch(canvases)).map(plain);
  const budget = (await model.classifyBatch(canvases, { maxIterations: 1 })).map((r) => r.iterations);
  tensors.afterCalls = numTensors();
  document.removeEventListener('iamnn:result', onDom);
  const info = JSON.parse(JSON.stringify(model.info));
  model.dispose();
  tensors.afterDispose = numTensors();
  box.remove();
  return { parity, info, single, batch, budget, domEvents, modelEvents, progress, tensors };
}

async function problemOf(model, input) {
  try {
    await model.classify(input);
    return 'ok';
  } catch (e) {
    return `${e.name}:${e.problem ?? e.message}`;
  }
}

/** Every DOM input kind, good and bad; returns what each classify call gave. */
export async function runInputs(IamNN, { modelUrl, origins, backend }) {
  const otherOrigin = origins.find((o) => o !== location.origin);
  const model = await IamNN.load(modelUrl, { backend });
  const out = {};
  const img = new Image();
  img.src = new URL('nocors/red.png', import.meta.url).href;
  out.image = await problemOf(model, img); // not yet loaded: classify waits for it
  const canvas = document.createElement('canvas');
  canvas.width = 40;
  canvas.height = 24;
  canvas.getContext('2d').fillRect(0, 0, 40, 24);
  out.canvas = await problemOf(model, canvas);
  const off = new OffscreenCanvas(32, 32);
  off.getContext('2d').fillRect(0, 0, 16, 16);
  out.offscreen = await problemOf(model, off);
  out.bitmap = await problemOf(model, await createImageBitmap(canvas));
  out.imageData = await problemOf(model, canvas.getContext('2d').getImageData(0, 0, 40, 24));
  const broken = new Image();
  broken.src = new URL('does-not-exist.png', import.meta.url).href;
  out.broken = await problemOf(model, broken);
  out.noSrc = await problemOf(model, new Image());
  const blank = document.createElement('canvas'); // no rendering context yet: a transparent image
  out.blankCanvas = await problemOf(model, blank);
  const empty = document.createElement('canvas');
  empty.width = 0;
  out.emptyCanvas = await problemOf(model, empty);
  const closed = await createImageBitmap(canvas);
  closed.close();
  out.closedBitmap = await problemOf(model, closed);
  const foreign = new Image();
  foreign.src = `${otherOrigin}/e2e/pages/nocors/red.png`;
  await foreign.decode();
  const tainted = document.createElement('canvas');
  tainted.width = tainted.height = 8;
  tainted.getContext('2d').drawImage(foreign, 0, 0);
  out.tainted = await problemOf(model, tainted);
  const video = document.createElement('video');
  video.src = new URL('does-not-exist.webm', import.meta.url).href;
  out.video = await problemOf(model, video);
  out.afterErrors = await problemOf(model, canvas);
  model.dispose();
  return out;
}

/** A deterministic, non-symmetric RGB pattern, so a wrong crop or scale changes the result. */
function pattern(w, h) {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      rgba[p] = (x * 7 + y * 3 + ((x * y) >> 5)) & 255;
      rgba[p + 1] = (y * 5 + (x >> 2)) & 255;
      rgba[p + 2] = ((x ^ y) * 3) & 255;
      rgba[p + 3] = 255;
    }
  }
  return new ImageData(rgba, w, h);
}

/** The same pixels as each DOM input kind: an <img> (a PNG, rendered at another size), canvas, OffscreenCanvas, ImageBitmap, ImageData. */
async function asKinds(data) {
  const canvas = document.createElement('canvas');
  canvas.width = data.width;
  canvas.height = data.height;
  canvas.getContext('2d').putImageData(data, 0, 0);
  const off = new OffscreenCanvas(data.width, data.height);
  off.getContext('2d').putImageData(data, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  const img = new Image(17, 9); // rendered size differs from the natural size
  img.src = URL.createObjectURL(blob);
  await img.decode();
  return { img, canvas, offscreen: off, bitmap: await createImageBitmap(data), imageData: data };
}

/**
 * Every size x every DOM input kind on `backend`, each compared with classifying the same pixels as an
 * int32 tensor on the CPU backend (a second model: the SDK switches backends per call). Returns per case
 * the worst |logit difference| and whether the iteration counts match, or the error it threw.
 */
export async function runSizes(IamNN, tf, { modelUrl, backend, sizes }) {
  const model = await IamNN.load(modelUrl, { backend });
  const ref = await IamNN.load(modelUrl, { backend: 'cpu' });
  const out = [];
  for (const [w, h] of sizes) {
    const data = pattern(w, h);
    const rgb = new Int32Array(w * h * 3);
    for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = data.data[p * 4 + c];
    const t = tf.tensor3d(rgb, [h, w, 3], 'int32');
    const want = await ref.classify(t);
    t.dispose();
    const kinds = await asKinds(data);
    for (const [kind, input] of Object.entries(kinds)) {
      try {
        const got = await model.classify(input);
        out.push({ size: `${w}x${h}`, kind, diff: Math.max(...got.logits.map((v, j) => Math.abs(v - want.logits[j]))), sameIterations: JSON.stringify(got.iterations) === JSON.stringify(want.iterations), backend: got.backend });
      } catch (e) {
        out.push({ size: `${w}x${h}`, kind, error: `${e.name}: ${e.message}` });
      }
    }
    URL.revokeObjectURL(kinds.img.src);
    kinds.bitmap.close();
  }
  model.dispose();
  ref.dispose();
  return out;
}

/** Load with the offline cache `cacheName`, classify one canvas; returns what the cache did and the result. */
export async function runCached(IamNN, { modelUrl, backend, cacheName }) {
  try {
    const model = await IamNN.load(modelUrl, { backend, cache: cacheName });
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    canvas.getContext('2d').putImageData(pattern(48, 48), 0, 0);
    const r = await model.classify(canvas);
    const cache = model.info.cache;
    model.dispose();
    return { cache, label: r.label, logits: r.logits };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

/**
 * A stalled <img> and a source-less <video> classified alongside a good canvas: the canvas's result must not
 * wait for them. Returns each call's outcome and when it settled (ms after the calls started).
 */
export async function runStalled(IamNN, { modelUrl, backend, stallUrl }) {
  const model = await IamNN.load(modelUrl, { backend });
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 40;
  canvas.getContext('2d').putImageData(pattern(40, 40), 0, 0);
  const stalled = new Image();
  stalled.src = stallUrl;
  const t0 = performance.now();
  const settle = (p) => p.then((r) => ({ ok: r.label, ms: performance.now() - t0 }), (e) => ({ error: `${e.name}:${e.problem ?? e.message}`, ms: performance.now() - t0 }));
  const [img, video, good] = await Promise.all([
    settle(model.classify(stalled, { inputTimeoutMs: 1500 })),
    settle(model.classify(document.createElement('video'))),
    settle(model.classify(canvas)),
  ]);
  model.dispose();
  return { img, video, good };
}

/**
 * The video loop on Chromium's fake camera (640x480): `frames` frames seen under `frameBudgetMs`; returns the
 * loop's stats, every result's ladder level and FLOPs, and tf.memory().numTensors before and after.
 */
export async function runVideo(IamNN, { modelUrl, backend, frames, frameBudgetMs }, numTensors = () => null) {
  const model = await IamNN.load(modelUrl, { backend });
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  const before = numTensors();
  const results = [];
  const errors = [];
  await new Promise((resolve) => {
    const loop = IamNN.classifyVideo(model, video, {
      frameBudgetMs,
      onError: (e) => errors.push(`${e.name}: ${e.message}`),
      onResult: (r) => {
        results.push({ level: r.level, flops: r.flops, frame: r.frame, label: r.label, callMs: r.callMs });
        if (r.frame >= frames) { loop.stop(); loop.done.then(() => resolve(loop.stats)); }
      },
    });
  });
  const after = numTensors();
  video.srcObject.getTracks().forEach((t) => t.stop());
  const size = [video.videoWidth, video.videoHeight];
  model.dispose();
  return { results, errors, before, after, size };
}

/** A WASM init that fails (its .wasm files are not where wasmPaths says) and a retry in the same page with the right ones. */
export async function runWasmRetry(IamNN, { modelUrl, badPaths }) {
  const out = {};
  try {
    await IamNN.load(modelUrl, { backend: 'wasm', wasmPaths: badPaths });
    out.first = 'loaded';
  } catch (e) {
    out.first = { name: e.name, message: e.message };
  }
  try {
    const model = await IamNN.load(modelUrl, { backend: 'wasm' });
    const c = document.createElement('canvas');
    c.width = c.height = 8;
    out.second = { backend: model.info.backend, label: (await model.classify(c)).label };
    model.dispose();
  } catch (e) {
    out.second = { error: `${e.name}: ${e.message}` };
  }
  return out;
}

/**
 * WebGPU device loss: a batch is running when the device is destroyed. Returns how that call ended, the
 * backendchange event, the next call's result next to the one before the loss, and whether a fresh load on
 * WebGPU gets a working device.
 */
export async function runDeviceLoss(IamNN, tf, { modelUrl }) {
  const model = await IamNN.load(modelUrl, { backend: 'webgpu' });
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 40;
  canvas.getContext('2d').putImageData(pattern(40, 40), 0, 0);
  const before = await model.classify(canvas);
  const changed = new Promise((resolve) => model.addEventListener('backendchange', (e) => resolve(e.detail), { once: true }));
  const running = model.classifyBatch(Array.from({ length: 16 }, () => canvas)).then(() => 'completed', (e) => `${e.name}: ${e.message}`);
  await new Promise((r) => setTimeout(r, 30)); // the batch is on the GPU now
  tf.backend().device.destroy();
  const inFlight = await running;
  const event = await changed;
  const after = await model.classify(canvas);
  const diff = Math.max(...after.logits.map((v, j) => Math.abs(v - before.logits[j])));
  const info = { backend: model.info.backend, skipped: model.info.backendSkipped };
  model.dispose();
  let fresh;
  try {
    const again = await IamNN.load(modelUrl, { backend: 'webgpu' });
    fresh = { backend: again.info.backend, label: (await again.classify(canvas)).label === before.label };
    again.dispose();
  } catch (e) {
    fresh = { error: `${e.name}: ${e.message}` };
  }
  return { inFlight, event, after: { backend: after.backend, diff, sameIterations: JSON.stringify(after.iterations) === JSON.stringify(before.iterations) }, info, fresh };
}

/** An 8000x6000 canvas classified on WebGPU and on WASM (two models on one page): their results must agree. */
export async function runHuge(IamNN, { modelUrl }) {
  const canvas = document.createElement('canvas');
  canvas.width = 8000;
  canvas.height = 6000;
  const g = canvas.getContext('2d');
  for (let y = 0; y < 6000; y += 1000) for (let x = 0; x < 8000; x += 1000) g.putImageData(pattern(1000, 1000), x, y);
  g.fillStyle = '#c33';
  g.fillRect(2500, 1500, 3000, 3000);
  const out = {};
  for (const backend of ['webgpu', 'wasm']) {
    const model = await IamNN.load(modelUrl, { backend });
    const r = await model.classify(canvas);
    out[backend] = { backend: r.backend, iterations: r.iterations, logits: r.logits };
    model.dispose();
  }
  return out;
}

/**
 * Broken models and inputs against the built bundle: a NaN weight (no sha256 to catch it), a shard path outside
 * the model folder, a stalled download, an object shaped like a tensor. Returns each outcome as `name:field`.
 */
export async function runBrokenModels(IamNN, { modelUrl, stallUrl, backend }) {
  const json = await (await fetch(modelUrl)).json();
  const base = new URL('.', modelUrl).href;
  const shardBytes = new Uint8Array(await (await fetch(new URL(json.weightsManifest[0].paths[0], base))).arrayBuffer());
  // serve model.json (edited) and the first shard (edited) from memory, everything else from the network
  const serving = (edit, editShard = (b) => b) => (url, init) => {
    const u = String(url);
    if (u === modelUrl) {
      const j = structuredClone(json);
      edit(j);
      return Promise.resolve(new Response(JSON.stringify(j)));
    }
    if (u === new URL(json.weightsManifest[0].paths[0], base).href) return Promise.resolve(new Response(editShard(shardBytes.slice())));
    return fetch(url, init);
  };
  const outcome = (p) => p.then((m) => { m.dispose?.(); return 'loaded'; }, (e) => `${e.name}:${e.field ?? e.url ?? e.problem ?? e.message}`);
  const nanShard = (b) => { new DataView(b.buffer).setFloat32(0, NaN, true); return b; };
  const out = {};
  out.nanWeight = await outcome(IamNN.load(modelUrl, { backend, fetch: serving((j) => { delete j.weightsManifest[0].sha256; }, nanShard) }));
  out.escapingPath = await outcome(IamNN.load(modelUrl, { backend, fetch: serving((j) => { j.weightsManifest[0].paths[0] = '../../package.json'; }) }));
  out.otherOrigin = await outcome(IamNN.load(modelUrl, { backend, fetch: serving((j) => { j.weightsManifest[0].paths[0] = 'http://127.0.0.1:4174/models/x.bin'; }) }));
  out.stalled = await outcome(IamNN.load(stallUrl, { backend, timeoutMs: 500 }));
  const model = await IamNN.load(modelUrl, { backend });
  out.duckTensor = await model.classify({ dataId: {}, shape: [4, 4, 3], dtype: 'float32' }).then(() => 'ok', (e) => `${e.name}:${e.problem}`);
  model.dispose();
  return out;
}
