// A module worker that imports the self-contained bundle from another origin and classifies the parity images.
import * as IamNN from 'http://127.0.0.1:4173/dist/iamnn.standalone.js';

self.onmessage = async ({ data: { modelUrl, parityUrl, backend } }) => {
  try {
    const parity = await (await fetch(parityUrl)).json();
    const [n, h, w] = parity.shape;
    const bytes = Uint8Array.from(atob(parity.images), (ch) => ch.charCodeAt(0));
    const model = await IamNN.load(modelUrl, { backend });
    const out = [];
    for (let i = 0; i < n; i++) {
      const rgba = new Uint8ClampedArray(h * w * 4);
      for (let p = 0; p < h * w; p++) {
        rgba.set(bytes.subarray((i * h * w + p) * 3, (i * h * w + p) * 3 + 3), p * 4);
        rgba[p * 4 + 3] = 255;
      }
      const r = await model.classify(new ImageData(rgba, w, h));
      out.push({ iterations: r.iterations, logits: r.logits });
    }
    self.postMessage({ backend: model.info.backend, results: out, parity: { iterations: parity.iterations, logits: parity.logits } });
    model.dispose();
  } catch (e) {
    self.postMessage({ error: `${e.name}: ${e.message}` });
  }
};
