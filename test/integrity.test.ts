/** Corrupt or misdirected models fail at load with a typed error; a stalled download gives up. */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { load, ModelFormatError, ModelLoadError } from '../src/index';
import { buildModel, fakeFetch, handModel, type Files } from './helpers';

const opts = (files: Files, extra = {}) => ({ backend: 'cpu' as const, fetch: fakeFetch(files), warmup: false, ...extra });

function withPaths(files: Files, paths: string[]): Files {
  const json = JSON.parse(files.get('model.json') as string);
  json.weightsManifest[0].paths = paths;
  return new Map(files).set('model.json', JSON.stringify(json));
}

describe('weights integrity', () => {
  it('a NaN or infinite weight is a ModelFormatError naming the weight', async () => {
    for (const bad of [NaN, Infinity]) {
      const { files } = handModel({ haltP: 0.3, increments: [1, 2] });
      const json = JSON.parse(files.get('model.json') as string);
      const { files: corrupt } = buildModel(json.iamnn, (name, size) => name === 'stage0/conv2' ? [...new Array(size - 1).fill(0), bad] : new Array(size).fill(0));
      const err = await load('http://test/model.json', opts(corrupt)).then(() => null, (e) => e);
      expect(err).toBeInstanceOf(ModelFormatError);
      expect(err.field).toBe('stage0/conv2');
      expect(err.message).toContain(String(bad));
    }
  });

  it.each([
    ['outside the model folder', '../../secret.bin'],
    ['on another origin', 'http://elsewhere.example/w.bin'],
    ['a protocol-relative host', '//elsewhere.example/w.bin'],
  ])('a shard path %s is refused before anything is fetched', async (_, path) => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2] });
    const served = new Map<string, Uint8Array | string>([['m/model.json', withPaths(files, [path]).get('model.json')!]]);
    const fetched: string[] = [];
    const spy = ((url: string) => { fetched.push(String(url)); return fakeFetch(served)(url); }) as typeof fetch;
    const err = await load('http://test/m/model.json', { ...opts(served), fetch: spy }).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.field).toBe('weightsManifest[0].paths[0]');
    expect(err.message).toContain('allowCrossOriginWeights');
    expect(fetched).toEqual(['http://test/m/model.json']);
  });

  it('allowCrossOriginWeights loads shards from elsewhere', async () => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2] });
    const moved = withPaths(files, ['../shared/w.bin']);
    const served = new Map<string, Uint8Array | string>([['m/model.json', moved.get('model.json')!], ['shared/w.bin', files.get('w.bin')!]]);
    const m = await load('http://test/m/model.json', { ...opts(served), allowCrossOriginWeights: true });
    expect(m.info.params).toBeGreaterThan(0);
    m.dispose();
  });

  it('the shipped models list a sha256 for every shard', () => {
    for (const dir of readdirSync('models')) {
      const json = JSON.parse(readFileSync(`models/${dir}/model.json`, 'utf8'));
      for (const g of json.weightsManifest) {
        expect(g.sha256, dir).toHaveLength(g.paths.length);
        for (const h of g.sha256) expect(h).toMatch(/^[0-9a-f]{64}$/);
      }
    }
  });
});

describe('download timeout', () => {
  /** A fetch whose responses start but never deliver a byte (a stalled server), honouring the abort signal. */
  const stalled = ((_url: string, init?: RequestInit) => Promise.resolve(new Response(new ReadableStream({
    start(c) { init?.signal?.addEventListener('abort', () => c.error(init.signal!.reason)); },
  })))) as typeof fetch;

  it('no data for timeoutMs is a ModelLoadError naming the URL', async () => {
    const t0 = Date.now();
    const err = await load('http://test/model.json', { backend: 'cpu', fetch: stalled, timeoutMs: 200 }).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.url).toBe('http://test/model.json');
    expect(err.message).toContain('200 ms');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('the caller\'s abort still rejects with its own reason', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('user left')), 50);
    await expect(load('http://test/model.json', { backend: 'cpu', fetch: stalled, signal: ctl.signal })).rejects.toThrow('user left');
  });

  it('rejects a timeout that is not a positive number', async () => {
    await expect(load('http://test/model.json', { backend: 'cpu', fetch: stalled, timeoutMs: 0 })).rejects.toMatchObject({ option: 'timeoutMs' });
  });
});
