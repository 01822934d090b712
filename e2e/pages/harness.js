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
 * calls and after dispose, so a leak on the browser backends shows.
 */
export async function runParity(IamNN, { modelUrl, parityUrl }, numTensors = () => null) {
  const parity = await (await fetch(parityUrl)).json();
  const progress = [];
  const model = await IamNN.load(modelUrl, { onProgress: (p) => progress.push(p.fraction) }); // auto: the project's browser decides
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
export async function runInputs(IamNN, { modelUrl, origins }) {
  const otherOrigin = origins.find((o) => o !== location.origin);
  const model = await IamNN.load(modelUrl);
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
