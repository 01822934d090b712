/** The mirror vote: a second, mirrored pass for the images the first pass is unsure of, logits averaged. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, readModelDir } from './helpers';

const loadTiny = () => load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(readModelDir('test/fixtures/tiny')) });
const images = () => tf.tidy(() => tf.floor(tf.mul(tf.randomUniform([6, 32, 32, 3], 0, 1, 'float32', 11), 256))) as tf.Tensor4D;

describe('the mirror vote', () => {
  it('off by default for a model.json without mirrorBelow; at 1 every image gets the mean of its pass and its mirror\'s', async () => {
    const m = await loadTiny();
    const x = images();
    const flipped = tf.reverse(x, 2) as tf.Tensor4D;
    const plain = await m.classifyBatch(x);
    const mirror = await m.classifyBatch(flipped);
    const both = await m.classifyBatch(x, { mirrorBelow: 1 });
    for (const [i, r] of both.entries()) {
      expect([plain[i].mirrored, plain[i].mirrorIterations, plain[i].flopsMax]).toEqual([false, null, m.info.flopsMax]);
      expect([r.mirrored, r.iterations, r.mirrorIterations]).toEqual([true, plain[i].iterations, mirror[i].iterations]);
      r.logits.forEach((v, j) => expect(v).toBeCloseTo((plain[i].logits[j] + mirror[i].logits[j]) / 2, 6));
      expect(r.flops).toBe(plain[i].flops + mirror[i].flops);
      expect(r.flopsMax).toBe(2 * m.info.flopsMax);
    }
    tf.dispose([x, flipped]);
    m.dispose();
  });

  it('mirrors exactly the images whose top probability is below the gate, and leaves no tensors behind', async () => {
    const m = await loadTiny();
    const x = images();
    const plain = await m.classifyBatch(x);
    const both = await m.classifyBatch(x, { mirrorBelow: 1 });
    const gate = [...plain.map((r) => r.probability)].sort((a, b) => a - b)[3]; // three images below it
    const before = tf.memory().numTensors;
    const some = await m.classifyBatch(x, { mirrorBelow: gate });
    expect(tf.memory().numTensors).toBe(before);
    expect(some.filter((r) => r.mirrored)).toHaveLength(3);
    for (const [i, r] of some.entries()) {
      const want = plain[i].probability < gate ? both[i] : plain[i];
      expect([r.mirrored, r.mirrorIterations, r.flops]).toEqual([want.mirrored, want.mirrorIterations, want.flops]);
      r.logits.forEach((v, j) => expect(v).toBeCloseTo(want.logits[j], 6));
    }
    x.dispose();
    m.dispose();
  });

  it('rejects a gate outside 0..1 with an OptionError that says the range', async () => {
    const m = await loadTiny();
    const x = images();
    for (const bad of [-0.1, 1.5, Number.NaN, '0.5']) {
      await expect(m.classifyBatch(x, { mirrorBelow: bad as number })).rejects.toMatchObject({
        name: 'OptionError', option: 'mirrorBelow', message: expect.stringContaining('from 0 (off) to 1 (every image)'),
      });
    }
    x.dispose();
    m.dispose();
  });
});
