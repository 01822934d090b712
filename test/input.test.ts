/** Bad inputs and options are typed errors, and the model stays usable after each. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, DisposedError, IamNNInputError, load, OptionError } from '../src/index';
import type { ModelSpec } from '../src/format';
import { cropPlan, hostBlock, MAX_SIDE, pixelsToTensor, preprocess, readDomPixels } from '../src/input';
import { fakeFetch, handModel } from './helpers';

async function model() {
  const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
  return load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false });
}

describe('input errors', () => {
  it.each([
    ['null', () => null, 'missing'],
    ['undefined', () => undefined, 'missing'],
    ['a number', () => 42, 'unsupported-type'],
    ['a plain object', () => ({ width: 4, height: 4 }), 'unsupported-type'],
    ['an object shaped like a tensor', () => ({ dataId: {}, shape: [4, 4, 3], dtype: 'float32' }), 'unsupported-type'],
    ['a rank-2 tensor', () => tf.zeros([4, 4]), 'bad-shape'],
    ['a 4-channel tensor', () => tf.zeros([4, 4, 4]), 'bad-shape'],
    ['a batch tensor to classify', () => tf.zeros([2, 4, 4, 3]), 'bad-shape'],
    ['a zero-size tensor', () => tf.zeros([0, 4, 3]), 'empty'],
    ['a bool tensor', () => tf.zeros([4, 4, 3], 'bool'), 'bad-dtype'],
    ['a tensor with NaN', () => tf.fill([4, 4, 3], NaN), 'not-finite'],
    ['a tensor with Infinity', () => tf.fill([4, 4, 3], Infinity), 'not-finite'],
    ['values above 255', () => tf.fill([4, 4, 3], 300), 'out-of-range'],
    ['negative values', () => tf.fill([4, 4, 3], -1), 'out-of-range'],
    ['a disposed tensor', () => { const t = tf.zeros([4, 4, 3]); t.dispose(); return t; }, 'missing'],
  ])('%s', async (_, make, problem) => {
    const m = await model();
    const input = make();
    const err = await m.classify(input as any).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(IamNNInputError);
    expect(err.problem).toBe(problem);
    if (input instanceof tf.Tensor) input.dispose();
    const ok = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    expect((await m.classify(ok)).iterations).toEqual([3]); // still usable
    ok.dispose();
    m.dispose();
  });

  it('classifyBatch names the index of the bad image and rejects an empty batch', async () => {
    const m = await model();
    const good = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    const err = await m.classifyBatch([good, null as any, good]).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(IamNNInputError);
    expect(err.index).toBe(1);
    await expect(m.classifyBatch([])).rejects.toMatchObject({ problem: 'empty-batch' });
    good.dispose();
    m.dispose();
  });

  it.each([
    ['a rank-3 tensor', () => tf.zeros([4, 4, 3]), 'bad-shape'],
    ['an empty batch tensor', () => tf.zeros([0, 4, 4, 3]), 'empty-batch'],
    ['NaN in one image', () => tf.concat([tf.zeros([2, 4, 4, 3]), tf.fill([1, 4, 4, 3], NaN)]), 'not-finite'],
    ['values above 255 in one image', () => tf.concat([tf.zeros([2, 4, 4, 3]), tf.fill([1, 4, 4, 3], 256)]), 'out-of-range'],
  ])('a batch tensor: %s', async (_, make, problem) => {
    const m = await model();
    const input = make();
    await expect(m.classifyBatch(input as tf.Tensor4D)).rejects.toMatchObject({ name: 'IamNNInputError', problem });
    input.dispose();
    const ok = tf.fill([3, 4, 4, 3], 7) as tf.Tensor4D;
    expect((await m.classifyBatch(ok)).map((r) => r.iterations)).toEqual([[3], [3], [3]]);
    ok.dispose();
    m.dispose();
  });

  it('accepts images of any size and aspect: center-crop + area resize', async () => {
    const m = await model();
    for (const shape of [[4, 4, 3], [8, 12, 3], [3, 3, 3], [37, 20, 3], [1, 4, 4, 3]]) {
      const t = tf.fill(shape as [number, number, number], 128, 'int32') as tf.Tensor3D;
      expect((await m.classify(t)).iterations).toEqual([3]);
      t.dispose();
    }
    m.dispose();
  });
});

describe('preprocessing', () => {
  const spec = { input: { height: 4, width: 4 }, normalization: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] } } as ModelSpec;
  const pixel = (y: number, x: number, c: number) => (y * 31 + x * 7 + c * 50) % 256;

  /** The centred side x side square, k x k block means (side = 4k), then (v / 255 - mean) / std. */
  function byHand(h: number, w: number): number[] {
    const side = Math.min(h, w);
    const k = side / 4;
    const y0 = Math.floor((h - side) / 2);
    const x0 = Math.floor((w - side) / 2);
    const out: number[] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += pixel(y0 + i * k + dy, x0 + j * k + dx, c);
      out.push((sum / (k * k) / 255 - spec.normalization.mean[c]) / spec.normalization.std[c]);
    }
    return out;
  }

  it.each([[4, 4], [4, 6], [9, 4], [8, 12], [37, 20]])('a %ix%i image: centre crop and area downsampling, as computed by hand', async (h, w) => {
    const img = tf.tensor4d(Array.from({ length: h * w * 3 }, (_, i) => pixel(Math.floor(i / (3 * w)), Math.floor(i / 3) % w, i % 3)), [1, h, w, 3]);
    const x = preprocess(img, spec);
    expect(x.shape).toEqual([1, 4, 4, 3]);
    const got = await x.data();
    byHand(h, w).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    tf.dispose([img, x]);
  });
});

describe('every size', () => {
  it.each([[1, 1], [31, 31], [32, 32], [33, 33], [64, 64], [224, 224], [256, 256], [375, 500], [480, 640], [640, 480]])(
    'an int32 %ix%i tensor (as fromPixels gives) classifies like its float32 copy', async (h, w) => {
      const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
      const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false });
      const i32 = tf.tidy(() => tf.cast(tf.mul(tf.randomUniform([h, w, 3]), 255), 'int32')) as tf.Tensor3D;
      const f32 = tf.cast(i32, 'float32') as tf.Tensor3D;
      const [a, b] = [await m.classify(i32), await m.classify(f32)];
      expect(a.logits).toEqual(b.logits);
      tf.dispose([i32, f32]);
      m.dispose();
    });

  it('squares above MAX_SIDE are reduced by the factor ceil(side / MAX_SIDE), centred', () => {
    expect(cropPlan(3000, 4000)).toEqual({ top: 0, left: 500, side: 3000, factor: 2 });
    expect(cropPlan(6000, 8000)).toEqual({ top: 0, left: 1000, side: 6000, factor: 3 });
    expect(cropPlan(2049, 2049)).toEqual({ top: 0, left: 0, side: 2048, factor: 2 });
    expect(cropPlan(480, 640)).toEqual({ top: 0, left: 80, side: 480, factor: 1 });
    expect(cropPlan(MAX_SIDE, MAX_SIDE).factor).toBe(1);
  });

  it('a tensor above MAX_SIDE equals its factor x factor block means', async () => {
    const spec = { input: { height: 8, width: 8 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } } as ModelSpec;
    const big = tf.tidy(() => tf.mul(tf.randomUniform([1, 2100, 2101, 3]), 255)) as tf.Tensor4D;
    const means = tf.tidy(() => tf.avgPool(tf.slice(big, [0, 0, 0, 0], [1, 2100, 2100, 3]), 2, 2, 'valid')) as tf.Tensor4D;
    const [a, b] = [preprocess(big, spec), preprocess(means, spec)];
    const [da, db] = [await a.data(), await b.data()];
    da.forEach((v, i) => expect(v).toBeCloseTo(db[i], 5));
    tf.dispose([big, means, a, b]);
  });
});

describe('option errors list the valid choices', () => {
  it.each([
    ['topK', { topK: 0 }, '1 to 2'],
    ['topK', { topK: 1.5 }, '1 to 2'],
    ['maxIterations', { maxIterations: 4 }, 'from 1 to 3'],
    ['maxIterations', { maxIterations: [1, 1] }, 'array of 1'],
    ['haltingThreshold', { haltingThreshold: 0 }, '(0, 1]'],
    ['haltingThreshold', { haltingThreshold: 1.5 }, '(0, 1]'],
    ['earlyExit', { earlyExit: 'no' }, 'true or false'],
    ['inputTimeoutMs', { inputTimeoutMs: -1 }, '>= 0'],
  ])('%s %j', async (option, opts, hint) => {
    const m = await model();
    const t = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    const err = await m.classify(t, opts as any).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(OptionError);
    expect(err.option).toBe(option);
    expect(err.message).toContain(hint);
    t.dispose();
    m.dispose();
  });

  it('a backend that cannot start is a BackendError saying why', async () => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    const err = await load('http://test/model.json', { backend: 'webgpu', fetch: fakeFetch(files) }).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.attempts).toEqual([{ backend: 'webgpu', reason: expect.stringContaining('navigator.gpu') }]);
  });

  it('an unknown backend lists the choices', async () => {
    await expect(load('http://test/model.json', { backend: 'webgl' as any })).rejects.toThrow(/'auto', 'webgpu', 'wasm', 'cpu'/);
  });

  it('a disposed model throws DisposedError', async () => {
    const m = await model();
    m.dispose();
    const t = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    await expect(m.classify(t)).rejects.toBeInstanceOf(DisposedError);
    t.dispose();
  });
});

describe('error names', () => {
  it('are literals, so they survive minification, and every error is an IamNNError', async () => {
    const e = await import('../src/errors');
    const made = [
      new e.IamNNInputError('missing', 'x'), new e.ModelFormatError('f', 'x'), new e.ModelLoadError('u', 'x'),
      new e.BackendError('x', []), new e.OptionError('o', 'x'), new e.DisposedError(), new e.IamNNError('x'),
    ];
    expect(made.map((x) => x.name)).toEqual([
      'IamNNInputError', 'ModelFormatError', 'ModelLoadError', 'BackendError', 'OptionError', 'DisposedError', 'IamNNError',
    ]);
    for (const x of made) expect(x).toBeInstanceOf(e.IamNNError);
  });
});

describe('host-side reduction of DOM images', () => {
  beforeAll(() => tf.setBackend('cpu'));
  it('averages the whole area step on the host when it is exact, else only the pre-reduction', () => {
    expect(hostBlock(cropPlan(480, 640), 32)).toBe(15); // a webcam frame: 480 / 32
    expect(hostBlock(cropPlan(224, 224), 32)).toBe(7);
    expect(hostBlock(cropPlan(224, 224), 64)).toBe(1); // 224 / 64 is not whole: preprocess resizes
    expect(hostBlock(cropPlan(3000, 4000), 32)).toBe(2); // 1500 / 32 is not whole: the pre-reduction only
    expect(hostBlock(cropPlan(2112, 2200), 32)).toBe(66); // pre-reduced by 2 to 1056 = 33 x 32
    expect(hostBlock(cropPlan(4096, 4096), 32)).toBe(128);
    expect(hostBlock(cropPlan(480, 640), 0)).toBe(1); // a non-square input
  });

  // Node has no ImageData: a minimal one, so the host path (readDomPixels) runs on real pixel data.
  class FakeImageData {
    constructor(readonly data: Uint8ClampedArray, readonly width: number, readonly height: number) {}
  }

  it.each([[480, 640], [224, 224], [2112, 2200], [100, 37]])('a %ix%i ImageData: the host path gives what the tensor path gives', async (h, w) => {
    const g = globalThis as Record<string, unknown>;
    const saved = g.ImageData;
    g.ImageData = FakeImageData;
    try {
      const spec = { input: { height: 32, width: 32 }, normalization: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] } } as ModelSpec;
      const rgba = new Uint8ClampedArray(h * w * 4).map((_, i) => (i * 2654435761) >>> 24);
      const rgb = new Int32Array(h * w * 3).map((_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]);
      const host = await readDomPixels(new FakeImageData(rgba, w, h), 1000, 32);
      // exact multiples leave the host at the model's size; 37 only pre-reduced (factor 1), 2112 by 66
      expect(host.side).toBe(h === 100 ? 37 : 32);
      const viaHost = tf.tidy(() => preprocess(pixelsToTensor(host), spec));
      const viaTensor = tf.tidy(() => preprocess(tf.tensor4d(rgb, [1, h, w, 3], 'int32'), spec));
      expect(viaHost.shape).toEqual([1, 32, 32, 3]);
      const [a, b] = [await viaHost.data(), await viaTensor.data()];
      let worst = 0;
      a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[i])); });
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([viaHost, viaTensor]);
    } finally {
      g.ImageData = saved;
    }
  });
});
