/** The runtime reproduces PyTorch (training/model.py) on models exported by training/export.py. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, parityImages, readModelDir, type Parity } from './helpers';

const MODELS = [
  { name: 'tiny random fixture', dir: 'test/fixtures/tiny' },
  { name: 'tiny 64x64 four-stage fixture (Tiny-ImageNet shape, ids beside labels)', dir: 'test/fixtures/tiny64' },
  { name: 'shipped CIFAR-10 model', dir: 'models/cifar10' },
];

describe.each(MODELS)('parity with PyTorch: $name', ({ dir }) => {
  it('logits within 1e-4, iterations and FLOPs exactly, one by one and as a batch', async () => {
    const files = readModelDir(dir);
    const parity: Parity = JSON.parse(readFileSync(`${dir}/parity.json`, 'utf8'));
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files) });
    const images = tf.tensor4d(parityImages(parity), parity.shape, 'int32');
    const batch = await m.classifyBatch(images);
    const single = [];
    for (const img of tf.unstack(images)) {
      single.push(await m.classify(img as tf.Tensor3D));
      img.dispose();
    }
    images.dispose();
    for (const [i, r] of batch.entries()) {
      expect(r.iterations, `image ${i} iterations`).toEqual(parity.iterations[i]);
      expect(single[i].iterations, `image ${i} alone`).toEqual(parity.iterations[i]);
      expect(r.flops).toBe(parity.flops[i]);
      const mirror = parity.mirrorIterations?.[i];
      expect(r.mirrorIterations, `image ${i} mirror pass`).toEqual(mirror === undefined || mirror.every((t) => t === 0) ? null : mirror);
      const err = Math.max(...r.logits.map((v, j) => Math.abs(v - parity.logits[i][j])));
      expect(err, `image ${i} max |logit diff|`).toBeLessThan(1e-4);
      const errSingle = Math.max(...single[i].logits.map((v, j) => Math.abs(v - parity.logits[i][j])));
      expect(errSingle).toBeLessThan(1e-4);
    }
    // the fixture must exercise early exit: images halt at different iterations
    expect(new Set(parity.iterations.map((it) => it.join())).size).toBeGreaterThan(1);
    m.dispose();
  });
});

describe('a batch tensor of images at another size', () => {
  it('is cropped, resized and normalized as a whole, exactly as image by image', async () => {
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(readModelDir('test/fixtures/tiny')) });
    const images = tf.tidy(() => tf.floor(tf.mul(tf.randomUniform([5, 70, 45, 3], 0, 1, 'float32', 7), 256))) as tf.Tensor4D;
    const batch = await m.classifyBatch(images);
    for (const [i, img] of tf.unstack(images).entries()) {
      const r = await m.classify(img as tf.Tensor3D);
      expect(batch[i].iterations).toEqual(r.iterations);
      expect(Math.max(...batch[i].logits.map((v, j) => Math.abs(v - r.logits[j])))).toBeLessThan(1e-5);
      img.dispose();
    }
    images.dispose();
    m.dispose();
  });
});
