/**
 * The IamNN forward pass on tfjs tensors, with per-image early exit and active-set compaction.
 * Semantics (docs/model-format.md, identical to training/model.py):
 *   x0 = stage input; s_0 = 0; for i = 1..T:
 *     h_i = block_i(concat(x0, s_{i-1})); p_i = sigmoid(ACT(GAP(concat(s_{i-1}, x0, h_i)))); s_i = s_{i-1} + h_i
 *   halt at the first N with p_1 + ... + p_N >= 1 - eps (or N = T); y = sum_{i<N} p_i s_i + R s_N.
 * Halting arithmetic runs in float32 (Math.fround) in the same order as PyTorch so iteration counts
 * match exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError } from './errors';
import type { ModelSpec } from './format';

interface IterationWeights {
  /** conv weights with iteration i's batchnorm scale folded in, and its shift as bias. */
  convs: { filter: tf.Tensor4D; bias: tf.Tensor1D }[];
}

interface StageWeights {
  iterations: IterationWeights[];
  act: { kernel: tf.Tensor2D; bias: tf.Tensor1D }[];
}

export interface RunOptions {
  /** Per-stage iteration cap (each <= the stage's maxIterations). */
  maxIterations: number[];
  /** Halt once cumulative p >= this (float32). The model's default is 1 - haltingEpsilon. */
  threshold: number;
  /** false: every row runs every iteration (halted rows masked to weight 0); same results, max compute. */
  earlyExit: boolean;
  /** Checked after every iteration's readback: an abort stops the run there, its tensors freed. */
  signal?: AbortSignal;
  /** performance.now() time after which every stage halts at its current iteration, as at a cap (the
   *  halting-weighted state so far, remainder included), and later stages run one iteration each. */
  deadline?: number;
}

export interface RunResult {
  logits: Float32Array;
  /** [batch, stages] iteration counts, row-major. */
  iterations: Int32Array;
  /** The deadline cut the run short. */
  deadlineHit: boolean;
}

interface HostWeight {
  values: Float32Array;
  shape: number[];
}

/**
 * Iteration i's batchnorm folded into the conv: filter * scale_i (per output channel, the last
 * HWIO axis), bias shift_i. Done on host arrays and uploaded as fresh tensors: the WASM backend
 * keeps the shape a buffer was created with, so sliced or reshaped biases would be rejected.
 */
function foldConv(conv: HostWeight, scale: HostWeight, shift: HostWeight, i: number) {
  const c = conv.shape[3];
  const s = scale.values.subarray(i * c, (i + 1) * c);
  const filter = conv.values.map((v, j) => Math.fround(v * s[j % c]));
  return {
    filter: tf.tensor4d(filter, conv.shape as [number, number, number, number]),
    bias: tf.tensor1d(shift.values.slice(i * c, (i + 1) * c)),
  };
}

/** Up to this many source rows, WASM selects rows with a matmul rather than a gather (see selectRows). */
const SELECT_BY_MATMUL_MAX_ROWS = 128;

/**
 * Rows `rows` of x (a gather along axis 0), for compacting the active set. WASM's GatherV2 copies value
 * by value: 2.6 ms for rows of a [32, 4, 4, 256] tensor on this project's benchmark machine, while a
 * one-hot [k, n] x [n, h*w*c] matmul runs through XNNPACK's GEMM in 0.4 ms, and is exact (each output
 * is 1*x plus zeros; activations are finite). Its cost grows with n^2, so large batches still gather.
 */
export function selectRows<T extends tf.Tensor>(x: T, rows: number[], byMatmul = tf.getBackend() === 'wasm' && x.shape[0] <= SELECT_BY_MATMUL_MAX_ROWS): T {
  return tf.tidy(() => {
    const n = x.shape[0];
    if (!byMatmul) return tf.gather(x, tf.tensor1d(rows, 'int32')) as T;
    const onehot = new Float32Array(rows.length * n);
    rows.forEach((r, j) => { onehot[j * n + r] = 1; });
    const picked = tf.matMul(tf.tensor2d(onehot, [rows.length, n]), tf.reshape(x, [n, -1]));
    return tf.reshape(picked, [rows.length, ...x.shape.slice(1)]) as T;
  });
}

export class Network {
  private readonly stem: { filter: tf.Tensor4D; bias: tf.Tensor1D };
  private readonly stages: StageWeights[];
  private readonly head: { kernel: tf.Tensor2D; bias: tf.Tensor1D };
  /** Tensors this network owns (folded copies); disposed by dispose(). */
  private readonly owned: tf.Tensor[];

  /** `w`: the weights on the host; `keep`: hold on to them, to rebuild the network on another backend (see rebuild). */
  private readonly host: Record<string, HostWeight> | null;

  private constructor(readonly spec: ModelSpec, w: Record<string, HostWeight>, keep: boolean) {
    this.host = keep ? w : null;
    const tensor = (name: string) => tf.tensor(w[name].values, w[name].shape);
    this.stem = foldConv(w['stem/conv'], w['stem/bn/scale'], w['stem/bn/shift'], 0);
    this.stages = spec.stages.map((st, k): StageWeights => ({
      iterations: Array.from({ length: st.maxIterations }, (_, i) => ({
        convs: [1, 2, 3].map((j) => foldConv(w[`stage${k}/conv${j}`], w[`stage${k}/bn${j}/scale`], w[`stage${k}/bn${j}/shift`], i)),
      })),
      act: Array.from({ length: spec.act.hidden.length + 1 }, (_, j) => ({
        kernel: tensor(`stage${k}/act/fc${j + 1}/kernel`) as tf.Tensor2D,
        bias: tensor(`stage${k}/act/fc${j + 1}/bias`) as tf.Tensor1D,
      })),
    }));
    this.head = { kernel: tensor('head/kernel') as tf.Tensor2D, bias: tensor('head/bias') as tf.Tensor1D };
    this.owned = [this.stem.filter, this.stem.bias, this.head.kernel, this.head.bias];
    for (const s of this.stages) {
      for (const it of s.iterations) for (const c of it.convs) this.owned.push(c.filter, c.bias);
      for (const a of s.act) this.owned.push(a.kernel, a.bias);
    }
  }

  /** Build from decoded weights (read back once, at load; the caller disposes `weights`). A NaN or
   *  infinite weight (a corrupt file without sha256) is a ModelFormatError naming it. */
  static async create(spec: ModelSpec, weights: tf.NamedTensorMap, keepHostCopy = false): Promise<Network> {
    const host: Record<string, HostWeight> = {};
    for (const [name, t] of Object.entries(weights)) {
      const values = (await t.data()) as Float32Array;
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new ModelFormatError(name, `value ${bad} is ${values[bad]}; every weight must be finite (a corrupt file?)`);
      host[name] = { values, shape: t.shape };
    }
    return new Network(spec, host, keepHostCopy);
  }

  /** The same network on the backend active now, from the host copy of its weights: for moving off a lost
   *  WebGPU device, whose tensors are gone with it (they are dropped, not disposed: that would touch the device). */
  rebuild(): Network {
    if (!this.host) throw new Error('the host copy of the weights was not kept');
    return new Network(this.spec, this.host, true);
  }

  dispose(): void {
    tf.dispose(this.owned);
  }

  /** conv -> BN -> ReLU -> max-pool on a normalized NHWC batch. */
  private stemForward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.fused.conv2d({ x, filter: this.stem.filter, strides: 1, pad: 'same', bias: this.stem.bias, activation: 'relu' });
      const p = this.spec.stem.poolAfter;
      return p > 1 ? tf.maxPool(y, p, p, 'valid') : y;
    });
  }

  /**
   * One iteration on the active rows: returns (s_i, p_i, GAP(s_i)). The ACT head's pooled inputs are
   * carried rather than recomputed: `gx0` = GAP(x0) is computed once per stage and `gs` = GAP(s_{i-1})
   * is a running sum of GAP(h), since s is a sum of the h's; only GAP(h_i) is pooled here.
   */
  private iterate(k: number, i: number, x0: tf.Tensor4D, gx0: tf.Tensor2D, s: tf.Tensor4D, gs: tf.Tensor2D): [tf.Tensor4D, tf.Tensor1D, tf.Tensor2D] {
    return tf.tidy(() => {
      const [c1, c2, c3] = this.stages[k].iterations[i].convs;
      let z: tf.Tensor4D = tf.concat([x0, s], 3);
      z = tf.fused.conv2d({ x: z, filter: c1.filter, strides: 1, pad: 'valid', bias: c1.bias, activation: 'relu' });
      z = tf.fused.conv2d({ x: z, filter: c2.filter, strides: 1, pad: 'same', bias: c2.bias, activation: 'relu' });
      const h = tf.fused.conv2d({ x: z, filter: c3.filter, strides: 1, pad: 'valid', bias: c3.bias });
      const gh = tf.mean(h, [1, 2]) as tf.Tensor2D;
      let g = tf.concat([gs, gx0, gh], 1) as tf.Tensor2D;
      const act = this.stages[k].act;
      act.forEach((l, j) => {
        g = tf.fused.matMul({ a: g, b: l.kernel, bias: l.bias, activation: j + 1 < act.length ? 'relu' : 'linear' }) as tf.Tensor2D;
      });
      return [tf.add(s, h), tf.reshape(tf.sigmoid(g), [-1]), tf.add(gs, gh)];
    });
  }

  /** Runs stage k with per-row early exit; does not dispose x0; returns y [B,h,w,C], fills counts. */
  private async stage(k: number, x0: tf.Tensor4D, opts: RunOptions, iters: Int32Array, late: { hit: boolean }): Promise<tf.Tensor4D> {
    const st = this.spec.stages[k];
    const t = late.hit ? 1 : opts.maxIterations[k];
    const n = x0.shape[0];
    const nStages = this.spec.stages.length;
    let rows = Array.from({ length: n }, (_, r) => r); // original row of each active row
    let cum = new Float32Array(n);
    const running = new Uint8Array(n).fill(1); // rows still accumulating; only earlyExit=false clears it
    let xa = x0;
    let ga = tf.mean(x0, [1, 2]) as tf.Tensor2D; // GAP(x0) of the active rows, for the ACT head
    let gsa: tf.Tensor2D = tf.zeros([n, st.channels]); // GAP(s) of the active rows
    let sa: tf.Tensor4D = tf.zeros([n, x0.shape[1], x0.shape[2], st.channels]);
    let ya: tf.Tensor4D = tf.zeros([n, x0.shape[1], x0.shape[2], st.channels]);
    const finished: { rows: number[]; y: tf.Tensor4D }[] = [];
    const threshold = Math.fround(opts.threshold);
    let result: tf.Tensor4D | undefined;
    try {
      for (let i = 0; i < t; i++) {
        const [s, pT, gs] = this.iterate(k, i, xa, ga, sa, gsa);
        // The loop's variables own the new tensors at once, so the finally below frees them on a throw.
        tf.dispose([sa, gsa]);
        [sa, gsa] = [s, gs];
        const overdue = opts.deadline !== undefined && i < t - 1 && performance.now() >= opts.deadline;
        if (overdue) late.hit = true;
        const last = i === t - 1 || overdue; // every row halts here, as at a cap
        let p: Float32Array;
        try {
          // The one readback per iteration; none at the cap, where every row halts whatever p is.
          p = last ? new Float32Array(rows.length) : ((await pT.data()) as Float32Array);
        } finally {
          pT.dispose();
        }
        opts.signal?.throwIfAborted();
        const w = new Float32Array(rows.length);
        const keep: number[] = [];
        const halted: number[] = [];
        for (let j = 0; j < rows.length; j++) {
          if (!running[j]) continue; // earlyExit=false: halted rows stay with weight 0
          const halt = last || Math.fround(cum[j] + p[j]) >= threshold;
          w[j] = halt ? Math.fround(1 - cum[j]) : p[j];
          cum[j] = Math.fround(cum[j] + p[j]);
          if (halt) {
            iters[rows[j] * nStages + k] = i + 1;
            halted.push(j);
            if (!opts.earlyExit) running[j] = 0;
          } else keep.push(j);
        }
        const y = tf.tidy(() => tf.add(ya, tf.mul(tf.tensor4d(w, [w.length, 1, 1, 1]), s)) as tf.Tensor4D);
        ya.dispose();
        ya = y;
        if (!opts.earlyExit || halted.length === 0) continue;
        if (keep.length === 0) {
          finished.push({ rows, y: ya });
          break;
        }
        finished.push({ rows: halted.map((j) => rows[j]), y: selectRows(ya, halted) });
        const [x2, g2, s2, gs2, y2] = tf.tidy(() => [xa, ga, sa, gsa, ya].map((t) => selectRows(t, keep)));
        tf.dispose([ga, sa, gsa, ya]);
        if (xa !== x0) xa.dispose();
        [xa, ga, sa, gsa, ya] = [x2 as tf.Tensor4D, g2 as tf.Tensor2D, s2 as tf.Tensor4D, gs2 as tf.Tensor2D, y2 as tf.Tensor4D];
        rows = keep.map((j) => rows[j]);
        cum = Float32Array.from(keep, (j) => cum[j]);
      }
      if (!opts.earlyExit) result = ya;
      else if (finished.length === 1 && finished[0].rows.every((r, j) => r === j)) result = finished[0].y;
      else {
        result = tf.tidy(() => {
          const inverse: number[] = [];
          finished.flatMap((f) => f.rows).forEach((r, j) => { inverse[r] = j; });
          return selectRows(tf.concat(finished.map((f) => f.y), 0), inverse);
        });
      }
      return result;
    } finally {
      tf.dispose([ga, sa, gsa, ya, ...finished.map((f) => f.y), ...(xa !== x0 ? [xa] : [])].filter((t) => t !== result));
    }
  }

  /** Classifies a normalized NHWC batch. Does not dispose `x`. */
  async run(x: tf.Tensor4D, opts: RunOptions): Promise<RunResult> {
    const n = x.shape[0];
    const iterations = new Int32Array(n * this.spec.stages.length);
    const late = { hit: false };
    let cur = this.stemForward(x);
    try {
      for (let k = 0; k < this.spec.stages.length; k++) {
        const pool = this.spec.stages[k].poolBefore;
        if (pool > 1) {
          const pooled = tf.maxPool(cur, pool, pool, 'valid');
          cur.dispose();
          cur = pooled;
        }
        const y = await this.stage(k, cur, opts, iterations, late);
        const next = tf.tidy(() => tf.relu(y));
        y.dispose();
        cur.dispose();
        cur = next;
      }
      const logitsT = tf.tidy(() => tf.add(tf.matMul(tf.mean(cur, [1, 2]) as tf.Tensor2D, this.head.kernel), this.head.bias));
      try {
        return { logits: (await logitsT.data()) as Float32Array, iterations, deadlineHit: late.hit };
      } finally {
        logitsT.dispose();
      }
    } finally {
      cur.dispose();
    }
  }
}
