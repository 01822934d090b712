/** Backend selection: fallback order, and a backend whose initialisation hangs does not poison the next. */
import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, handModel } from './helpers';

const wasmFactory = tf.findBackendFactory('wasm');

afterEach(() => {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', wasmFactory, 2);
});

describe('backend selection', () => {
  it('skips a backend whose init hangs past the timeout, and the fallback then runs', async () => {
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', () => new Promise<never>(() => {}), 2); // an init that never settles
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    const m = await load('http://test/model.json', { fetch: fakeFetch(files), backendTimeoutMs: 200 });
    expect(m.info.backend).toBe('cpu');
    expect(tf.engine().registryFactory.wasm.priority).toBe(2); // re-registered as it was, for a later load
    expect(m.info.backendSkipped).toEqual([
      { backend: 'webgpu', reason: expect.stringContaining('navigator.gpu') },
      { backend: 'wasm', reason: 'wasm initialisation timed out after 200 ms' },
    ]);
    const x = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    expect((await m.classify(x)).iterations).toEqual([3]);
    x.dispose();
    m.dispose();
  });
});
