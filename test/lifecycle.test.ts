/** Memory stays flat, concurrent calls are serialized (across models too), dispose waits for a running call, results arrive as events. */
import { describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DisposedError, load, type IamNNModel, type Result } from '../src/index';
import { fakeFetch, parityImages, readModelDir, type Parity } from './helpers';
import { readFileSync } from 'node:fs';

const DIR = 'test/fixtures/tiny';
const parity: Parity = JSON.parse(readFileSync(`${DIR}/parity.json`, 'utf8'));

async function tiny() {
  return load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(readModelDir(DIR)) });
}

/** Wraps the model's network run (private) so a test can act while a call is inside it. */
function aroundRun(m: IamNNModel, around: (run: () => Promise<unknown>) => Promise<unknown>): void {
  const net = (m as unknown as { net: { run: (...a: unknown[]) => Promise<unknown> } }).net;
  const run = net.run.bind(net);
  vi.spyOn(net, 'run').mockImplementation((...a: unknown[]) => around(() => run(...a)) as never);
}

describe('lifecycle', () => {
  it('tf.memory().numTensors is flat over 500 calls, failing ones included, and back to zero after dispose', async () => {
    await tf.setBackend('cpu'); // tf.memory() before any backend would start the wasm one
    const before = tf.memory().numTensors;
    const m = await tiny();
    const images = tf.tensor4d(parityImages(parity), parity.shape, 'int32');
    const one = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    const bad = tf.fill([32, 32, 3], NaN) as tf.Tensor3D;
    await m.classify(one);
    const loaded = tf.memory().numTensors;
    for (let i = 0; i < 500; i++) {
      if (i % 10 === 0) await m.classifyBatch(images);
      else if (i % 10 === 1) await m.classify(bad).catch(() => {});
      else if (i % 10 === 2) await m.classify(one, { maxIterations: 1 });
      else if (i % 10 === 3) await m.classify(one, { topK: 99 }).catch(() => {});
      else if (i % 10 === 4) await m.classify(one, { earlyExit: false });
      else await m.classify(one, { haltingThreshold: 0.3 + (i % 7) / 10 });
    }
    expect(tf.memory().numTensors).toBe(loaded);
    tf.dispose([images, one, bad]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('concurrent calls give the same results as sequential ones', async () => {
    const m = await tiny();
    const images = tf.unstack(tf.tensor4d(parityImages(parity), parity.shape, 'int32')) as tf.Tensor3D[];
    const sequential: Result[] = [];
    for (const img of images) sequential.push(await m.classify(img));
    const concurrent = await Promise.all(images.map((img, i) => m.classify(img, { topK: 1 + (i % 3) })));
    concurrent.forEach((r, i) => {
      expect(r.iterations).toEqual(sequential[i].iterations);
      expect(r.logits).toEqual(sequential[i].logits);
      expect(r.topK.length).toBe(1 + (i % 3));
    });
    tf.dispose(images);
    m.dispose();
  });

  it('dispose during a running call frees the weights after it; the calls queued behind it throw DisposedError', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const m = await tiny();
    const one = tf.tidy(() => tf.slice(tf.tensor4d(parityImages(parity), parity.shape, 'int32'), 0, 1)) as tf.Tensor4D;
    const reference = await m.classify(one);
    aroundRun(m, (run) => { m.dispose(); return run(); }); // dispose() lands mid-call
    const running = m.classify(one);
    const queued = m.classify(one);
    expect((await running).logits).toEqual(reference.logits);
    await expect(queued).rejects.toBeInstanceOf(DisposedError);
    await expect(m.classify(one)).rejects.toBeInstanceOf(DisposedError);
    one.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('calls on two models never overlap: the backend they share is page-global', async () => {
    const [a, b] = [await tiny(), await tiny()];
    const trace: string[] = [];
    for (const [m, name] of [[a, 'a'], [b, 'b']] as const) {
      aroundRun(m, async (run) => {
        trace.push(`${name}+`);
        try { return await run(); } finally { trace.push(`${name}-`); }
      });
    }
    const images = tf.unstack(tf.tensor4d(parityImages(parity), parity.shape, 'int32')).slice(0, 3) as tf.Tensor3D[];
    await Promise.all(images.flatMap((img) => [a.classify(img), b.classify(img)]));
    expect(trace).toEqual(images.flatMap(() => ['a+', 'a-', 'b+', 'b-']));
    tf.dispose(images);
    a.dispose();
    b.dispose();
  });

  it('dispatches a result event per image with the result as detail', async () => {
    const m = await tiny();
    const seen: Result[] = [];
    m.addEventListener('result', (e) => seen.push((e as CustomEvent<Result>).detail));
    const images = tf.tensor4d(parityImages(parity), parity.shape, 'int32');
    const results = await m.classifyBatch(images);
    expect(seen).toEqual(results);
    images.dispose();
    m.dispose();
  });

  it('results carry FLOPs from the model table, the backend and info', async () => {
    const m = await tiny();
    const images = tf.tensor4d(parityImages(parity), parity.shape, 'int32');
    const results = await m.classifyBatch(images, { maxIterations: [2, 3] });
    const { flops } = m.info;
    for (const r of results) {
      expect(r.flops).toBe(flops.stem + flops.head + r.iterations[0] * flops.perIteration[0] + r.iterations[1] * flops.perIteration[1]);
      expect(r.iterations[0]).toBeLessThanOrEqual(2);
      expect(r.iterations[1]).toBeLessThanOrEqual(3);
      expect(r.flopsMax).toBe(m.info.flopsMax);
      expect(r.backend).toBe('cpu');
      expect(r.topK.map((t) => t.probability)).toEqual([...r.topK.map((t) => t.probability)].sort((a, b) => b - a));
    }
    expect(m.info.maxIterations).toEqual([4, 6]);
    expect(m.info.flopsMax).toBe(flops.stem + flops.head + 4 * flops.perIteration[0] + 6 * flops.perIteration[1]);
    expect(m.info.timings.warmupMs).toBeGreaterThan(0);
    images.dispose();
    m.dispose();
  });
});
