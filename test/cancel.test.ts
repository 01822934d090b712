/** classify(x, { signal }): an abort stops the call at the next iteration, with the signal's reason, and frees its tensors. */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, parityImages, readModelDir, type Parity } from './helpers';

const DIR = 'test/fixtures/tiny';
const parity: Parity = JSON.parse(readFileSync(`${DIR}/parity.json`, 'utf8'));

describe('cancel', () => {
  it('an abort during the run rejects with the reason after that iteration, leaks nothing, and the model goes on', async () => {
    await tf.setBackend('cpu');
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(readModelDir(DIR)) });
    const images = tf.tensor4d(parityImages(parity), parity.shape, 'int32');
    const before = tf.memory().numTensors;
    const net = (m as unknown as { net: { iterate: (...a: unknown[]) => unknown } }).net;
    const iterate = net.iterate.bind(net);
    const ctl = new AbortController();
    let calls = 0;
    const spy = vi.spyOn(net, 'iterate').mockImplementation((...a: unknown[]) => {
      if (++calls === 2) ctl.abort(new Error('user moved on'));
      return iterate(...a);
    });
    await expect(m.classifyBatch(images, { signal: ctl.signal, earlyExit: false })).rejects.toThrow('user moved on');
    expect(calls).toBe(2); // stopped at the iteration that saw the abort, not at the end of the run
    expect(tf.memory().numTensors).toBe(before);
    spy.mockRestore();
    const one = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    await expect(m.classify(one, { signal: ctl.signal })).rejects.toThrow('user moved on'); // already aborted
    one.dispose();
    expect((await m.classifyBatch(images)).length).toBe(parity.shape[0]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(m.classify(images, { signal: 'stop' as never })).rejects.toMatchObject({ option: 'signal' });
    images.dispose();
    m.dispose();
  });
});
