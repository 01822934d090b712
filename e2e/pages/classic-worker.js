// A classic worker that loads the script-tag bundle with importScripts (from another origin) and no options:
// the bundle must find its .wasm files beside itself, not beside this worker.
importScripts('http://127.0.0.1:4173/dist/iamnn.iife.js');

self.onmessage = async ({ data: { modelUrl } }) => {
  try {
    const model = await self.IamNN.load(modelUrl, { backend: 'wasm' });
    const r = await model.classify(new ImageData(new Uint8ClampedArray(40 * 40 * 4).fill(200), 40, 40));
    self.postMessage({ backend: model.info.backend, label: r.label });
    model.dispose();
  } catch (e) {
    self.postMessage({ error: `${e.name}: ${e.message}` });
  }
};
