/** Active-set compaction: the one-hot matmul selection (used on WASM) is exactly a gather. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectRows } from '../src/network';

describe('selectRows', () => {
  it.each([
    ['a 4D state', [9, 4, 4, 6]],
    ['a 2D pooled state', [9, 6]],
  ])('by matmul equals by gather, bit for bit: %s', async (_, shape) => {
    await tf.setBackend('cpu');
    // values over many magnitudes and both signs, so any rounding in the matmul would show
    const x = tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), tf.pow(10, tf.randomUniform(shape, -8, 8, 'float32', 4))));
    const rows = [8, 0, 3, 3, 5];
    const before = tf.memory().numTensors;
    const byMatmul = selectRows(x, rows, true);
    const byGather = selectRows(x, rows, false);
    expect(tf.memory().numTensors).toBe(before + 2); // nothing else is left behind
    expect(byMatmul.shape).toEqual([rows.length, ...shape.slice(1)]);
    expect(Array.from(await byMatmul.data())).toEqual(Array.from(await byGather.data()));
    tf.dispose([x, byMatmul, byGather]);
  });
});
