/** Halting semantics on hand-built models whose outputs are known in closed form. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, handModel } from './helpers';

const increments = [1, 2, 3, 4, 5, 6];
const states = increments.map((_, i) => increments.slice(0, i + 1).reduce((a, b) => a + b, 0)); // 1, 3, 6, 10, 15, 21
const image = () => tf.zeros([4, 4, 3]) as tf.Tensor3D;

async function modelFor(haltP: number) {
  const { files } = handModel({ haltP, increments });
  return load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false });
}

/** Graves' ACT output for a constant halting score p, threshold th and cap t. */
function expected(p: number, th: number, t: number) {
  let cum = 0;
  let y = 0;
  for (let i = 0; i < t; i++) {
    if (i === t - 1 || cum + p >= th) return { n: i + 1, y: y + (1 - cum) * states[i] };
    y += p * states[i];
    cum += p;
  }
  throw new Error('unreachable');
}

describe('halting', () => {
  it('stops at the first iteration whose cumulative score reaches 1 - eps, weighting the remainder', async () => {
    const m = await modelFor(0.3);
    const r = await m.classify(image());
    expect(r.iterations).toEqual([4]); // 0.3, 0.6, 0.9, 1.2 >= 0.99
    expect(r.logits[0]).toBeCloseTo(0.3 * (1 + 3 + 6) + 0.1 * 10, 4); // R = 1 - 0.9
    expect(expected(0.3, 0.99, 6)).toEqual({ n: 4, y: expect.closeTo(r.logits[0], 4) });
    m.dispose();
  });

  it('runs to the cap and gives the last state the whole remainder when the score never reaches the threshold', async () => {
    const m = await modelFor(0.05);
    const r = await m.classify(image());
    expect(r.iterations).toEqual([6]);
    expect(r.logits[0]).toBeCloseTo(0.05 * (1 + 3 + 6 + 10 + 15) + 0.75 * 21, 4);
    m.dispose();
  });

  it('halts after one iteration when the first score already reaches the threshold', async () => {
    const m = await modelFor(0.995);
    const r = await m.classify(image());
    expect(r.iterations).toEqual([1]);
    expect(r.logits[0]).toBeCloseTo(1, 5); // R = 1, s_1 = 1
    m.dispose();
  });

  it('haltingThreshold changes the budget per call', async () => {
    const m = await modelFor(0.3);
    for (const th of [0.25, 0.5, 0.85, 0.95, 1]) {
      const r = await m.classify(image(), { haltingThreshold: th });
      const e = expected(0.3, th, 6);
      expect(r.iterations).toEqual([e.n]);
      expect(r.logits[0]).toBeCloseTo(e.y, 4);
    }
    expect((await m.classify(image(), { haltingThreshold: 0.5 })).iterations).toEqual([2]);
    m.dispose();
  });

  it('maxIterations caps each stage and the capped iteration takes the remainder', async () => {
    const m = await modelFor(0.3);
    const r = await m.classify(image(), { maxIterations: 3 });
    expect(r.iterations).toEqual([3]);
    expect(r.maxIterations).toEqual([3]);
    expect(r.logits[0]).toBeCloseTo(0.3 * 1 + 0.3 * 3 + 0.4 * 6, 4);
    expect((await m.classify(image(), { maxIterations: [1] })).logits[0]).toBeCloseTo(1, 5);
    m.dispose();
  });

  it('earlyExit: false runs every iteration but returns the same result', async () => {
    const m = await modelFor(0.3);
    /** The result, and how many ACT heads ran: one sigmoid per iteration computed. */
    const run = async (earlyExit: boolean) => {
      const x = image();
      let result!: Awaited<ReturnType<typeof m.classify>>;
      const { kernels } = await tf.profile(async () => { result = await m.classify(x, { earlyExit }); });
      x.dispose();
      return { result, heads: kernels.filter((k) => k.name === 'Sigmoid').length };
    };
    const a = await run(true);
    const b = await run(false);
    expect(a.result.iterations).toEqual([4]); // 0.3 * 4 reaches 0.99
    expect(a.heads).toBe(4);
    expect(b.heads).toBe(increments.length);
    expect(b.result.iterations).toEqual(a.result.iterations);
    expect(b.result.logits[0]).toBeCloseTo(a.result.logits[0], 5);
    m.dispose();
  });
});
