/**
 * The model format (docs/model-format.md): model.json = a tfjs `weightsManifest` plus an `iamnn`
 * section that fully describes the network. This module validates both, so a model that does not
 * match fails at load with a {@link ModelFormatError} naming the field or weight, never later with
 * a silently wrong result.
 */
import { ModelFormatError } from './errors';

export const FORMAT = 'iamnn';
export const FORMAT_VERSIONS = [1] as const;

export interface StageSpec {
  /** Channels of the stage input x0 (the stem output or the previous stage's state). */
  inChannels: number;
  /** Channels C of the state s and of the block output h. */
  channels: number;
  /** Width b of the bottleneck (1x1 -> b, 3x3 b -> b, 1x1 b -> C). */
  bottleneck: number;
  /** T: the most iterations the stage may run. */
  maxIterations: number;
  /** Max-pool window/stride applied to the input before the stage (1 = none). */
  poolBefore: number;
}

export interface FlopsSpec {
  stem: number;
  /** FLOPs of one iteration of each stage: block convs + ACT head. */
  perIteration: number[];
  head: number;
  max: number;
}

export interface ModelSpec {
  input: { height: number; width: number; channels: 3; channelOrder: 'RGB'; layout: 'NHWC'; resize: 'center-crop-area' };
  normalization: { formula: string; mean: number[]; std: number[] };
  labels: string[];
  stem: { channels: number; kernel: number; poolAfter: number };
  stages: StageSpec[];
  act: { hidden: number[] };
  haltingEpsilon: number;
  /** The mirror vote's default gate (docs/model-format.md): 0 (off, also when model.json has none) to 1 (every image). */
  mirrorBelow: number;
  flops: FlopsSpec;
}

export interface QuantizationSpec {
  dtype: 'float16' | 'uint8';
  scale?: number;
  min?: number;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: QuantizationSpec;
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
  /** Optional hex sha256 of each shard, checked after download. */
  sha256?: string[];
}

export interface ModelJson {
  format: typeof FORMAT;
  formatVersion: number;
  weightsManifest: WeightsGroup[];
  iamnn: ModelSpec;
}

type Json = Record<string, unknown>;

function fail(field: string, problem: string): never {
  throw new ModelFormatError(field, problem);
}

function obj(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'expected an object');
  return v as Json;
}

function int(v: unknown, field: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(field, `expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `expected a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function arr(v: unknown, field: string, length?: number): unknown[] {
  if (!Array.isArray(v)) fail(field, 'expected an array');
  if (length !== undefined && v.length !== length) fail(field, `expected ${length} entries, got ${v.length}`);
  return v;
}

function oneOf<T extends string | number>(v: unknown, field: string, choices: readonly T[]): T {
  if (!choices.includes(v as T)) fail(field, `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** FLOPs (2 per multiply-add of every conv and FC layer) implied by the architecture. */
export function computeFlops(spec: Omit<ModelSpec, 'flops'>): FlopsSpec {
  let h = spec.input.height;
  let w = spec.input.width;
  const k = spec.stem.kernel;
  const stem = 2 * k * k * spec.input.channels * spec.stem.channels * h * w;
  h = Math.floor(h / spec.stem.poolAfter);
  w = Math.floor(w / spec.stem.poolAfter);
  const perIteration = spec.stages.map((s) => {
    h = Math.floor(h / s.poolBefore);
    w = Math.floor(w / s.poolBefore);
    const ci = s.inChannels;
    const c = s.channels;
    const b = s.bottleneck;
    const block = 2 * h * w * ((ci + c) * b + 9 * b * b + b * c);
    const sizes = [2 * c + ci, ...spec.act.hidden, 1];
    let act = 0;
    for (let i = 0; i + 1 < sizes.length; i++) act += 2 * sizes[i] * sizes[i + 1];
    return block + act;
  });
  const last = spec.stages[spec.stages.length - 1];
  const head = 2 * last.channels * spec.labels.length;
  const max = stem + head + perIteration.reduce((a, f, i) => a + f * spec.stages[i].maxIterations, 0);
  return { stem, perIteration, head, max };
}

function parseSpec(v: unknown): ModelSpec {
  const s = obj(v, 'iamnn');
  const input = obj(s.input, 'iamnn.input');
  const inputSpec = {
    height: int(input.height, 'iamnn.input.height'),
    width: int(input.width, 'iamnn.input.width'),
    channels: oneOf(input.channels, 'iamnn.input.channels', [3] as const),
    channelOrder: oneOf(input.channelOrder, 'iamnn.input.channelOrder', ['RGB'] as const),
    layout: oneOf(input.layout, 'iamnn.input.layout', ['NHWC'] as const),
    resize: oneOf(input.resize, 'iamnn.input.resize', ['center-crop-area'] as const),
  };
  const norm = obj(s.normalization, 'iamnn.normalization');
  const mean = arr(norm.mean, 'iamnn.normalization.mean', 3).map((x, i) => num(x, `iamnn.normalization.mean[${i}]`));
  const std = arr(norm.std, 'iamnn.normalization.std', 3).map((x, i) => {
    const n = num(x, `iamnn.normalization.std[${i}]`);
    return n > 0 ? n : fail(`iamnn.normalization.std[${i}]`, 'must be > 0');
  });
  const labels = arr(s.labels, 'iamnn.labels').map((l, i) =>
    typeof l === 'string' ? l : fail(`iamnn.labels[${i}]`, 'expected a string'));
  if (labels.length < 2) fail('iamnn.labels', 'expected at least 2 classes');
  const stem = obj(s.stem, 'iamnn.stem');
  const stemSpec = {
    channels: int(stem.channels, 'iamnn.stem.channels'),
    kernel: oneOf(stem.kernel, 'iamnn.stem.kernel', [1, 3, 5, 7] as const),
    poolAfter: int(stem.poolAfter, 'iamnn.stem.poolAfter'),
  };
  const stages = arr(s.stages, 'iamnn.stages').map((st, k): StageSpec => {
    const f = `iamnn.stages[${k}]`;
    const o = obj(st, f);
    return {
      inChannels: int(o.inChannels, `${f}.inChannels`),
      channels: int(o.channels, `${f}.channels`),
      bottleneck: int(o.bottleneck, `${f}.bottleneck`),
      maxIterations: int(o.maxIterations, `${f}.maxIterations`),
      poolBefore: int(o.poolBefore, `${f}.poolBefore`),
    };
  });
  if (stages.length === 0) fail('iamnn.stages', 'expected at least one stage');
  stages.forEach((st, k) => {
    const expected = k === 0 ? stemSpec.channels : stages[k - 1].channels;
    if (st.inChannels !== expected) fail(`iamnn.stages[${k}].inChannels`, `expected ${expected} (the previous layer's channels), got ${st.inChannels}`);
  });
  const act = obj(s.act, 'iamnn.act');
  const hidden = arr(act.hidden, 'iamnn.act.hidden').map((x, i) => int(x, `iamnn.act.hidden[${i}]`));
  const eps = num(s.haltingEpsilon, 'iamnn.haltingEpsilon');
  if (eps < 0 || eps >= 1) fail('iamnn.haltingEpsilon', `expected 0 <= epsilon < 1, got ${eps}`);
  const mirrorBelow = s.mirrorBelow === undefined ? 0 : num(s.mirrorBelow, 'iamnn.mirrorBelow');
  if (!(mirrorBelow >= 0 && mirrorBelow <= 1)) fail('iamnn.mirrorBelow', `expected a number from 0 (off) to 1 (every image), got ${mirrorBelow}`);
  const spec = {
    input: inputSpec,
    normalization: { formula: String(norm.formula ?? ''), mean, std },
    labels,
    stem: stemSpec,
    stages,
    act: { hidden },
    haltingEpsilon: eps,
    mirrorBelow,
  };
  const flops = computeFlops(spec);
  const declared = obj(s.flops, 'iamnn.flops');
  for (const key of ['stem', 'head', 'max'] as const) {
    if (declared[key] !== flops[key]) fail(`iamnn.flops.${key}`, `declared ${JSON.stringify(declared[key])}, the architecture gives ${flops[key]}`);
  }
  const per = arr(declared.perIteration, 'iamnn.flops.perIteration', stages.length);
  per.forEach((f, k) => {
    if (f !== flops.perIteration[k]) fail(`iamnn.flops.perIteration[${k}]`, `declared ${JSON.stringify(f)}, the architecture gives ${flops.perIteration[k]}`);
  });
  return { ...spec, flops };
}

/** The weights the network needs, by name, with their shapes, in the order the exporter writes them. */
export function expectedWeights(spec: ModelSpec): Map<string, number[]> {
  const w = new Map<string, number[]>();
  const k = spec.stem.kernel;
  w.set('stem/conv', [k, k, spec.input.channels, spec.stem.channels]);
  w.set('stem/bn/scale', [spec.stem.channels]);
  w.set('stem/bn/shift', [spec.stem.channels]);
  spec.stages.forEach((s, i) => {
    const t = s.maxIterations;
    const convs: [number, number, number][] = [
      [1, s.inChannels + s.channels, s.bottleneck],
      [3, s.bottleneck, s.bottleneck],
      [1, s.bottleneck, s.channels],
    ];
    convs.forEach(([ks, cin, cout], j) => {
      w.set(`stage${i}/conv${j + 1}`, [ks, ks, cin, cout]);
      w.set(`stage${i}/bn${j + 1}/scale`, [t, cout]);
      w.set(`stage${i}/bn${j + 1}/shift`, [t, cout]);
    });
    const sizes = [2 * s.channels + s.inChannels, ...spec.act.hidden, 1];
    for (let j = 0; j + 1 < sizes.length; j++) {
      w.set(`stage${i}/act/fc${j + 1}/kernel`, [sizes[j], sizes[j + 1]]);
      w.set(`stage${i}/act/fc${j + 1}/bias`, [sizes[j + 1]]);
    }
  });
  const last = spec.stages[spec.stages.length - 1];
  w.set('head/kernel', [last.channels, spec.labels.length]);
  w.set('head/bias', [spec.labels.length]);
  return w;
}

function parseGroup(v: unknown, g: number): WeightsGroup {
  const f = `weightsManifest[${g}]`;
  const o = obj(v, f);
  const paths = arr(o.paths, `${f}.paths`).map((p, i) =>
    typeof p === 'string' && p.length > 0 ? p : fail(`${f}.paths[${i}]`, 'expected a file name'));
  if (paths.length === 0) fail(`${f}.paths`, 'expected at least one shard');
  const weights = arr(o.weights, `${f}.weights`).map((wv, i): WeightSpec => {
    const wo = obj(wv, `${f}.weights[${i}]`);
    const name = typeof wo.name === 'string' ? wo.name : fail(`${f}.weights[${i}].name`, 'expected a string');
    const shape = arr(wo.shape, name).map((d) => int(d, `${name} shape`, 0));
    const dtype = oneOf(wo.dtype, `${name} dtype`, ['float32'] as const);
    const spec: WeightSpec = { name, shape, dtype };
    if (wo.quantization !== undefined) {
      const q = obj(wo.quantization, `${name} quantization`);
      const qd = oneOf(q.dtype, `${name} quantization.dtype`, ['float16', 'uint8'] as const);
      spec.quantization = qd === 'uint8'
        ? { dtype: qd, scale: num(q.scale, `${name} quantization.scale`), min: num(q.min, `${name} quantization.min`) }
        : { dtype: qd };
    }
    return spec;
  });
  let sha256: string[] | undefined;
  if (o.sha256 !== undefined) {
    sha256 = arr(o.sha256, `${f}.sha256`, paths.length).map((h, i) =>
      typeof h === 'string' && /^[0-9a-f]{64}$/.test(h) ? h : fail(`${f}.sha256[${i}]`, 'expected 64 lowercase hex digits'));
  }
  return { paths, weights, sha256 };
}

/** Validate a parsed model.json: format, version, the network description and the weight list. */
export function parseModelJson(v: unknown): ModelJson {
  const o = obj(v, 'model.json');
  if (o.format !== FORMAT) fail('format', `expected ${JSON.stringify(FORMAT)}, got ${JSON.stringify(o.format)}`);
  const formatVersion = oneOf(o.formatVersion, 'formatVersion', FORMAT_VERSIONS);
  const iamnn = parseSpec(o.iamnn);
  const weightsManifest = arr(o.weightsManifest, 'weightsManifest').map(parseGroup);
  const expected = expectedWeights(iamnn);
  const seen = new Set<string>();
  for (const w of weightsManifest.flatMap((g) => g.weights)) {
    const shape = expected.get(w.name);
    if (!shape) fail(w.name, 'unexpected weight: the network described in iamnn has no such weight');
    if (seen.has(w.name)) fail(w.name, 'listed twice');
    seen.add(w.name);
    if (shape.join(',') !== w.shape.join(',')) fail(w.name, `shape [${w.shape}] but the network needs [${shape}]`);
  }
  for (const name of expected.keys()) if (!seen.has(name)) fail(name, 'missing weight');
  return { format: FORMAT, formatVersion, weightsManifest, iamnn };
}

/** Bytes a weight occupies in its shard. */
export function weightBytes(w: WeightSpec): number {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const per = w.quantization?.dtype === 'uint8' ? 1 : w.quantization?.dtype === 'float16' ? 2 : 4;
  return n * per;
}
