/**
 * Backend selection: fallback order, a backend whose initialisation hangs does not poison the next, and each
 * single-backend entry (iamnn/cpu, iamnn/webgpu + iamnn/wasm) chooses only among the backends it enables.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { load } from '../src/index';
import { fakeFetch, handModel } from './helpers';

const wasmFactory = tf.findBackendFactory('wasm');

afterEach(() => {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', wasmFactory, 2);
});

/** An init that never settles, in place of tfjs-backend-wasm's. */
function hangWasm() {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => new Promise<never>(() => {}), 2);
}

describe('backend selection', () => {
  it('skips a backend whose init hangs past the timeout, and the fallback then runs', async () => {
    hangWasm();
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

  it('iamnn/cpu: auto runs on CPU without trying WebGPU or WASM; asking for another backend is an OptionError listing this build\'s', async () => {
    vi.resetModules(); // a fresh copy of the SDK's modules, as an app importing only this entry has (tfjs stays shared)
    const cpuOnly = await import('../src/cpu');
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    const m = await cpuOnly.load('http://test/model.json', { fetch: fakeFetch(files), backend: 'auto' });
    expect(m.info.backend).toBe('cpu');
    expect(m.info.backendSkipped).toEqual([]);
    m.dispose();
    for (const backend of ['wasm', 'webgpu'] as const) {
      await expect(cpuOnly.load('http://test/model.json', { fetch: fakeFetch(files), backend })).rejects.toMatchObject({
        name: 'OptionError',
        option: 'backend',
        message: `invalid option backend: "${backend}" is not in this build (import 'iamnn/${backend}' too, or 'iamnn' for all); expected one of 'auto', 'cpu'`,
      });
    }
    await expect(cpuOnly.load('http://test/model.json', { fetch: fakeFetch(files), backend: 'webgl' as never }))
      .rejects.toThrow(`invalid option backend: "webgl"; expected one of 'auto', 'cpu'`);
  });

  it('iamnn/webgpu with iamnn/wasm: auto tries those two and never CPU; cpu is not a valid choice', async () => {
    vi.resetModules();
    const both = await import('../src/webgpu');
    await import('../src/wasm');
    hangWasm();
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    const loading = both.load('http://test/model.json', { fetch: fakeFetch(files), backendTimeoutMs: 200 });
    await expect(loading).rejects.toMatchObject({
      name: 'BackendError',
      attempts: [
        { backend: 'webgpu', reason: expect.stringContaining('navigator.gpu') },
        { backend: 'wasm', reason: 'wasm initialisation timed out after 200 ms' },
      ],
    });
    await expect(both.load('http://test/model.json', { fetch: fakeFetch(files), backend: 'cpu' }))
      .rejects.toThrow(`expected one of 'auto', 'webgpu', 'wasm'`);
  });

  it('the iamnn entry offers every backend', async () => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    await expect(load('http://test/model.json', { fetch: fakeFetch(files), backend: 'webgl' as never }))
      .rejects.toThrow(`invalid option backend: "webgl"; expected one of 'auto', 'webgpu', 'wasm', 'cpu'`);
  });
});

describe('load options for the backend', () => {
  it('numThreads must be an integer from 1 to 8; the OptionError lists the valid values', async () => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
    for (const numThreads of [0, 9, 1.5, '2', null]) {
      await expect(load('http://test/model.json', { fetch: fakeFetch(files), numThreads: numThreads as never })).rejects.toMatchObject({
        name: 'OptionError',
        option: 'numThreads',
        message: `invalid option numThreads: ${numThreads}; expected an integer from 1 to 8 (or none: tfjs's default)`,
      });
    }
  });
});

describe('after a lost WebGPU device', () => {
  it('a build with WebGPU only has no backend to fall back to, and its BackendError says so', async () => {
    vi.resetModules();
    await import('../src/webgpu');
    const { initBackend } = await import('../src/backend');
    const recovery = initBackend('auto', { timeoutMs: 1000, exclude: ['webgpu'] });
    await expect(recovery).rejects.toMatchObject({
      name: 'BackendError',
      attempts: [],
      message: "no backend to fall back to: this build enables only 'webgpu', ruled out (webgpu: device lost); import 'iamnn/wasm' or 'iamnn/cpu' too for a fallback",
    });
  });
});

describe('a driver with a lesser configuration (as WASM without threads)', () => {
  const cpuFactory = tf.findBackendFactory('cpu');
  /** The cpu backend's factory replaced by `factory` (the initialised instance dropped, so setBackend calls it). */
  const registerCpu = (factory: () => tf.KernelBackend | Promise<tf.KernelBackend>) => {
    tf.removeBackend('cpu');
    tf.registerBackend('cpu', factory, 1);
  };
  const broken = () => { throw new Error('broken configuration'); };
  afterEach(() => registerCpu(cpuFactory));

  it('after a failed init: reset, then degrade with the reason, then the lesser configuration; info from describe()', async () => {
    vi.resetModules();
    const { enableBackend, initBackend } = await import('../src/backend');
    const calls: string[] = [];
    let attempt = 0;
    registerCpu(broken);
    enableBackend('cpu', {
      prepare: () => { calls.push(`prepare ${++attempt}`); return null; },
      reset: () => { calls.push('reset'); },
      diagnose: async () => `configuration ${attempt} failed`,
      degrade: (reason) => { calls.push(`degrade: ${reason}`); registerCpu(cpuFactory); return true; },
      describe: async () => ({ wasmThreadsOff: `lesser configuration after ${attempt - 1} failure` }),
    });
    const info = await initBackend('cpu', { timeoutMs: 5000 });
    expect(info).toMatchObject({ backend: 'cpu', skipped: [], wasmThreadsOff: 'lesser configuration after 1 failure' });
    expect(calls).toEqual(['prepare 1', 'reset', 'degrade: configuration 1 failed', 'prepare 2']);
  });

  it('when the lesser configuration fails too, its reason is the one reported, and the loop ends', async () => {
    vi.resetModules();
    const { enableBackend, initBackend } = await import('../src/backend');
    let attempt = 0;
    const degraded: string[] = [];
    registerCpu(broken);
    enableBackend('cpu', {
      prepare: () => { attempt++; return null; },
      diagnose: async () => `configuration ${attempt} failed`,
      degrade: (reason) => { degraded.push(reason); return attempt === 1; }, // one lesser configuration, then none
    });
    await expect(initBackend('cpu', { timeoutMs: 5000 })).rejects.toMatchObject({
      name: 'BackendError',
      attempts: [{ backend: 'cpu', reason: 'configuration 2 failed' }],
    });
    expect(degraded).toEqual(['configuration 1 failed', 'configuration 2 failed']);
  });
});
