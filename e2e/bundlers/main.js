// A fresh app that follows the README literally: the package (or one backend's entry: the test rewrites this
// import) and its model module from the npm tarball, built by the bundler under test. It classifies the first
// parity image on the backend 'auto' picks and publishes what it got (with its WASM threads).
import { load } from 'iamnn';
import cifar10 from 'iamnn/models/cifar10';

async function main() {
  const parity = await (await fetch(new URL('/models/cifar10/parity.json', location.href))).json();
  const [, h, w] = parity.shape;
  const bytes = Uint8Array.from(atob(parity.images), (ch) => ch.charCodeAt(0));
  const rgba = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    rgba.set(bytes.subarray(p * 3, p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = 255;
  }
  const model = await load(cifar10, { backend: 'auto' });
  const r = await model.classify(new ImageData(rgba, w, h));
  const { wasmThreads, wasmThreadsOff } = model.info;
  return { backend: r.backend, wasmThreads, wasmThreadsOff, iterations: r.iterations, logits: r.logits, want: { iterations: parity.iterations[0], logits: parity.logits[0] } };
}

main().then((r) => { window.result = r; }, (e) => { window.result = { error: `${e.name}: ${e.message}` }; });
