/** Every model-validation failure is a typed error naming the field or weight. */
import { describe, expect, it } from 'vitest';
import { load, ModelFormatError, ModelLoadError } from '../src/index';
import { sha256Js } from '../src/sha256';
import { createHash } from 'node:crypto';
import { fakeFetch, handModel, readModelDir, type Files } from './helpers';

type Json = Record<string, any>;

function variant(mutate: (json: Json, files: Files) => void): Files {
  const { files } = handModel({ haltP: 0.3, increments: [1, 2, 3] });
  const json = JSON.parse(files.get('model.json') as string);
  mutate(json, files);
  files.set('model.json', JSON.stringify(json));
  return files;
}

async function loadFiles(files: Files) {
  return load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false });
}

async function formatError(files: Files): Promise<ModelFormatError> {
  const err = await loadFiles(files).then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ModelFormatError);
  return err as ModelFormatError;
}

const weights = (j: Json) => j.weightsManifest[0].weights as Json[];

describe('model validation', () => {
  it('accepts the hand-built model', async () => {
    (await loadFiles(variant(() => {}))).dispose();
  });

  it.each([
    ['unknown format', (j: Json) => { j.format = 'onnx'; }, 'format'],
    ['unknown version', (j: Json) => { j.formatVersion = 2; }, 'formatVersion'],
    ['missing iamnn section', (j: Json) => { delete j.iamnn; }, 'iamnn'],
    ['bad stage channels', (j: Json) => { j.iamnn.stages[0].channels = 0; }, 'iamnn.stages[0].channels'],
    ['stage input channels that do not chain', (j: Json) => { j.iamnn.stages[0].inChannels = 3; }, 'iamnn.stages[0].inChannels'],
    ['wrong declared FLOPs', (j: Json) => { j.iamnn.flops.perIteration[0] += 1; }, 'iamnn.flops.perIteration[0]'],
    ['unknown resize', (j: Json) => { j.iamnn.input.resize = 'stretch'; }, 'iamnn.input.resize'],
    ['std of zero', (j: Json) => { j.iamnn.normalization.std[1] = 0; }, 'iamnn.normalization.std[1]'],
    ['halting epsilon out of range', (j: Json) => { j.iamnn.haltingEpsilon = 1; }, 'iamnn.haltingEpsilon'],
    ['mirror gate out of range', (j: Json) => { j.iamnn.mirrorBelow = 1.2; }, 'iamnn.mirrorBelow'],
    ['missing weight', (j: Json) => { j.weightsManifest[0].weights = weights(j).filter((w) => w.name !== 'stage0/conv2'); }, 'stage0/conv2'],
    ['extra weight', (j: Json) => { weights(j).push({ name: 'stage0/conv4', shape: [1], dtype: 'float32' }); }, 'stage0/conv4'],
    ['wrong shape', (j: Json) => { weights(j).find((w) => w.name === 'head/kernel')!.shape = [2, 3]; }, 'head/kernel'],
    ['wrong dtype', (j: Json) => { weights(j).find((w) => w.name === 'head/bias')!.dtype = 'int32'; }, 'head/bias dtype'],
    ['weight listed twice', (j: Json) => { weights(j).push({ ...weights(j)[0] }); }, 'stem/conv'],
    ['unknown quantization', (j: Json) => { weights(j)[0].quantization = { dtype: 'int4' }; }, 'stem/conv quantization.dtype'],
  ])('%s', async (_, mutate, field) => {
    const err = await formatError(variant(mutate));
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('a shard shorter than its weights', async () => {
    const err = await formatError(variant((_, files) => { files.set('w.bin', (files.get('w.bin') as Uint8Array).slice(4)); }));
    expect(err.field).toBe('weightsManifest[0].paths');
  });

  it('a shard whose sha256 does not match', async () => {
    const err = await formatError(variant((j) => { j.weightsManifest[0].sha256 = ['0'.repeat(64)]; }));
    expect(err.field).toBe('weightsManifest[0].sha256[0]');
  });

  it('a model.json that is not JSON', async () => {
    const err = await formatError(new Map([['model.json', '{oops']]));
    expect(err.field).toBe('model.json');
  });

  it('a missing file is a ModelLoadError with the URL and status', async () => {
    const err = await loadFiles(variant((_, files) => { files.delete('w.bin'); })).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.status).toBe(404);
    expect(err.url).toBe('http://test/w.bin');
  });

  it('an aborted load rejects with the abort reason', async () => {
    const ctl = new AbortController();
    ctl.abort(new Error('user left'));
    const files = variant(() => {});
    const slowFetch: typeof fetch = (url, init) => init?.signal?.aborted ? Promise.reject(init.signal.reason) : fakeFetch(files)(url, init);
    await expect(load('http://test/model.json', { backend: 'cpu', fetch: slowFetch, signal: ctl.signal })).rejects.toThrow('user left');
  });

  it('an abort in the middle of a shard rejects with the abort reason, not a download error', async () => {
    const ctl = new AbortController();
    const files = variant(() => {});
    const half = (files.get('w.bin') as Uint8Array).slice(0, 8);
    const stalling: typeof fetch = async (url, init) => {
      if (!String(url).endsWith('w.bin')) return fakeFetch(files)(url, init);
      return new Response(new ReadableStream<Uint8Array>({
        start(c) { // as fetch does: the body stream errors when the request's signal aborts
          c.enqueue(half);
          init?.signal?.addEventListener('abort', () => c.error(new DOMException('The operation was aborted', 'AbortError')));
        },
      }));
    };
    const onProgress = (p: { loaded: number }) => { if (p.loaded > 0) ctl.abort(new Error('user left')); };
    await expect(load('http://test/model.json', { backend: 'cpu', fetch: stalling, signal: ctl.signal, onProgress }))
      .rejects.toThrow('user left');
  });

  it('verifies correct hashes and reports progress up to the total', async () => {
    const files = readModelDir('test/fixtures/tiny');
    const seen: number[] = [];
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false, onProgress: (p) => seen.push(p.fraction) });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(1);
    expect(m.info.bytes).toBe([...files.entries()].filter(([k]) => k.endsWith('.bin')).reduce((a, [, v]) => a + (v as Uint8Array).length, 0));
    m.dispose();
  });

  it('decodes float16 and uint8 quantized weights', async () => {
    const f16 = variant((j, files) => {
      // head/kernel = identity in float16 (0x3c00 = 1.0), the rest float32 as before
      const all = weights(j);
      const buf = files.get('w.bin') as Uint8Array;
      const f32 = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      const out: number[] = [];
      let off = 0;
      for (const w of all) {
        const n = w.shape.reduce((a: number, b: number) => a * b, 1);
        const vals = Array.from(f32.subarray(off, off + n));
        off += n;
        if (w.name === 'head/kernel') {
          w.quantization = { dtype: 'float16' };
          const h = new Uint16Array(vals.map((v) => (v === 1 ? 0x3c00 : 0)));
          out.push(...new Uint8Array(h.buffer));
        } else if (w.name === 'stage0/bn3/shift') {
          w.quantization = { dtype: 'uint8', scale: 1, min: 0 };
          out.push(...vals.map((v) => Math.round(v)));
        } else out.push(...new Uint8Array(new Float32Array(vals).buffer));
      }
      files.set('w.bin', new Uint8Array(out));
    });
    const m = await loadFiles(f16);
    const tf = await import('@tensorflow/tfjs-core');
    const r = await m.classify(tf.zeros([4, 4, 3]) as any);
    expect(r.iterations).toEqual([3]);
    expect(r.logits[0]).toBeCloseTo(0.3 * 1 + 0.3 * 3 + 0.4 * 6, 4);
    m.dispose();
  });
});

describe('sha256 fallback', () => {
  it('matches node:crypto', () => {
    for (const n of [0, 1, 55, 56, 64, 1000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
      expect(sha256Js(data)).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});
