/** Test helpers: serve model files from memory or disk through a fake fetch, and build hand-made models. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { computeFlops, expectedWeights, type ModelSpec } from '../src/format';

export type Files = Map<string, Uint8Array | string>;

/** A fetch that serves `files` under http://test/ and 404s everything else. */
export function fakeFetch(files: Files): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = new URL(String(input));
    const body = files.get(url.pathname.replace(/^\//, ''));
    if (body === undefined) return new Response('not found', { status: 404 });
    return new Response(typeof body === 'string' ? body : new Uint8Array(body), { status: 200 });
  }) as typeof fetch;
}

/** Every file of a model folder (model.json, shards, parity.json). */
export function readModelDir(dir: string): Files {
  const files: Files = new Map();
  for (const f of readdirSync(dir)) files.set(f, f.endsWith('.json') ? readFileSync(join(dir, f), 'utf8') : new Uint8Array(readFileSync(join(dir, f))));
  return files;
}

export interface Parity {
  shape: [number, number, number, number];
  images: string;
  logits: number[][];
  iterations: number[][];
  flops: number[];
  /** The model's mirror vote gate, when it has one; then each image's mirror-pass iterations (0s: not mirrored). */
  mirrorBelow?: number;
  mirrorIterations?: number[][];
}

export function parityImages(p: Parity): Uint8Array {
  return new Uint8Array(Buffer.from(p.images, 'base64'));
}

export function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/**
 * A one-stage model whose behaviour is known in closed form: all convs are zero, so the block
 * output of iteration i is the bn3 shift row i (`increments[i]` in channel 0), the state is the
 * running sum of increments, the ACT head outputs the constant p = `haltP` (its last bias), and the
 * head is the identity on the first two channels, so logits[0] = sum_i w_i s_i exactly as Graves'
 * ACT weights them.
 */
export function handModel(opts: { haltP: number; increments: number[]; eps?: number }): { files: Files; json: Record<string, unknown> } {
  const t = opts.increments.length;
  const spec: Omit<ModelSpec, 'flops'> = {
    input: { height: 4, width: 4, channels: 3, channelOrder: 'RGB', layout: 'NHWC', resize: 'center-crop-area' },
    normalization: { formula: '(x / 255 - mean) / std', mean: [0, 0, 0], std: [1, 1, 1] },
    labels: ['a', 'b'],
    stem: { channels: 2, kernel: 3, poolAfter: 1 },
    stages: [{ inChannels: 2, channels: 2, bottleneck: 1, maxIterations: t, poolBefore: 1 }],
    act: { hidden: [4, 4] },
    haltingEpsilon: opts.eps ?? 0.01,
    mirrorBelow: 0,
  };
  const values: Record<string, number[]> = {
    'stage0/bn3/shift': opts.increments.flatMap((v) => [v, 0]),
    'stage0/act/fc3/bias': [logit(opts.haltP)],
    'head/kernel': [1, 0, 0, 1],
  };
  return buildModel({ ...spec, flops: computeFlops(spec) }, (name, size) => values[name] ?? new Array(size).fill(0));
}

/** model.json + one float32 shard for `spec`, weight values from `value(name, size)`. */
export function buildModel(spec: ModelSpec, value: (name: string, size: number) => number[]): { files: Files; json: Record<string, unknown> } {
  const weights = [...expectedWeights(spec)].map(([name, shape]) => ({ name, shape, dtype: 'float32' }));
  const data = weights.flatMap((w) => value(w.name, w.shape.reduce((a, b) => a * b, 1)));
  const json = { format: 'iamnn', formatVersion: 1, weightsManifest: [{ paths: ['w.bin'], weights }], iamnn: spec };
  const files: Files = new Map();
  files.set('model.json', JSON.stringify(json));
  files.set('w.bin', new Uint8Array(new Float32Array(data).buffer));
  return { files, json };
}
