/** classify(x, { deadlineMs }): an anytime result, the halting-weighted state so far, flagged. */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, handModel, parityImages, readModelDir, type Parity } from './helpers';

describe('deadline', () => {
  it('halts where it is, with the remainder weight, exactly as a cap would', async () => {
    // p = 0.3 per iteration, increments 1, 2, 3: states 1, 3, 6; all three run: y = 0.3*1 + 0.3*3 + 0.4*6 = 3.6
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false });
    const x = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    const full = await m.classify(x);
    expect(full.logits[0]).toBeCloseTo(3.6, 5);
    expect([full.iterations, full.deadlineExceeded]).toEqual([[3], false]);
    const now = await m.classify(x, { deadlineMs: 0 });
    expect([now.iterations, now.deadlineExceeded, now.logits[0]]).toEqual([[1], true, 1]); // s_1 with weight 1
    // the clock passes the deadline during the second iteration: y = 0.3*1 + 0.7*3
    let t = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (t += 10));
    const mid = await m.classify(x, { deadlineMs: 25 });
    clock.mockRestore();
    expect([mid.iterations, mid.deadlineExceeded]).toEqual([[2], true]);
    expect(mid.logits[0]).toBeCloseTo(0.3 * 1 + 0.7 * 3, 5);
    expect(mid.flops).toBeLessThan(full.flops);
    await expect(m.classify(x, { deadlineMs: -1 })).rejects.toMatchObject({ option: 'deadlineMs' });
    x.dispose();
    m.dispose();
  });

  it('later stages run one iteration each; a generous deadline changes nothing', async () => {
    const dir = 'test/fixtures/tiny';
    const parity: Parity = JSON.parse(readFileSync(`${dir}/parity.json`, 'utf8'));
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(readModelDir(dir)) });
    const images = tf.tensor4d(parityImages(parity), parity.shape, 'int32');
    const rushed = await m.classifyBatch(images, { deadlineMs: 0 });
    expect(rushed.every((r) => r.deadlineExceeded && r.iterations.every((n) => n === 1))).toBe(true);
    const relaxed = await m.classifyBatch(images, { deadlineMs: 1e9 });
    expect(relaxed.map((r) => r.iterations)).toEqual(parity.iterations);
    expect(relaxed.every((r) => !r.deadlineExceeded)).toBe(true);
    images.dispose();
    m.dispose();
  });
});
