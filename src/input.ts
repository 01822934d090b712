/**
 * Turns any supported image source into 0..255 RGB pixels, with a typed {@link IamNNInputError} for
 * everything that cannot be classified, then resizes and normalizes them as model.json says:
 *   resize "center-crop-area": crop the centred square of side min(H, W); if the side is not a
 *   multiple of the model's input size S, resize it bilinearly (half-pixel centres) to k*S with
 *   k = max(1, floor(side / S)); then average k x k blocks down to S x S (area downsampling, no aliasing).
 *   normalization: (x / 255 - mean) / std per channel.
 * A square larger than MAX_SIDE is first reduced by the integer factor f = ceil(side / MAX_SIDE), which brings it within
 * MAX_SIDE (f x f block means of its centred f-multiple), the same for DOM images and tensors: a
 * 4000x3000 photo is never uploaded whole to the GPU (WebGPU silently drops texture uploads that large).
 *
 * DOM images are read on the CPU (a 2D canvas), outside the page-wide call queue and with a time
 * limit, so a slow image never holds up another call; tensors are validated with one readback. Where the
 * pre-reduced square is an exact multiple k*S, the host averages its k x k blocks too (hostBlock): a 640x480
 * video frame leaves the host as 32x32 pixels, not 480x480 (the same block means, computed in float64).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkSize, isA, readySize, unsupportedInput } from './dom-input';
import { IamNNInputError } from './errors';
import type { ModelSpec } from './format';

/** Everything `classify` accepts. Tensors are HWC or NHWC (N = 1) RGB with values 0..255. */
export type ImageInput =
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | ImageBitmap
  | ImageData
  | tf.Tensor3D
  | tf.Tensor4D;

/** Larger centred squares are reduced by an integer factor before any backend sees them. */
export const MAX_SIDE = 2048;

/** The centred square of an h x w image and its pre-reduction factor (see the module comment). */
export interface CropPlan {
  top: number;
  left: number;
  side: number;
  factor: number;
}

export function cropPlan(h: number, w: number): CropPlan {
  const full = Math.min(h, w);
  const factor = Math.ceil(full / MAX_SIDE);
  const side = Math.floor(full / factor) * factor;
  return { top: Math.floor((h - side) / 2), left: Math.floor((w - side) / 2), side, factor };
}

/**
 * The block side the host averages a DOM image's square by: the pre-reduction factor, times the area step down
 * to the model's `size` when that step is exact (480 / 32 = 15). Otherwise the factor alone, and the tensor
 * path (preprocess) does the bilinear resize and the area step.
 */
export function hostBlock(plan: CropPlan, size: number): number {
  const reduced = plan.side / plan.factor;
  return size > 0 && reduced % size === 0 ? plan.factor * (reduced / size) : plan.factor;
}

/** A DOM image read to the host: its centred, pre-reduced square, RGB float32 0..255, row-major. */
export interface HostPixels {
  data: Float32Array;
  side: number;
}

/** A real tensor of this tfjs: tf.Tensor's instanceof accepts any object with a dataId, shape and dtype. */
export function isTensor(x: unknown): x is tf.Tensor {
  return typeof x === 'object' && x !== null && Object.prototype.isPrototypeOf.call(tf.Tensor.prototype, x);
}

/** RGBA bytes of the plan's square of `src`, drawn 1:1 (no resampling) on a 2D canvas. */
function rgbaOf(src: CanvasImageSource, plan: CropPlan, index?: number): Uint8ClampedArray {
  const { top, left, side } = plan;
  const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(side, side) : Object.assign(document.createElement('canvas'), { width: side, height: side });
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
  if (!ctx) throw new IamNNInputError('unsupported-type', 'no 2D canvas context to read the image with', index);
  try {
    ctx.drawImage(src, left, top, side, side, 0, 0, side, side);
    return ctx.getImageData(0, 0, side, side).data;
  } catch (e) {
    if ((e as Error).name === 'SecurityError') {
      throw new IamNNInputError('tainted', 'the image comes from another origin without CORS; serve it with Access-Control-Allow-Origin and set crossOrigin="anonymous"', index);
    }
    throw new IamNNInputError('unsupported-type', `could not read pixels: ${(e as Error).message}`, index);
  }
}

/** RGBA (row stride `stride` pixels, square at `top`/`left`) -> RGB float32, averaging factor x factor blocks. */
function reduce(rgba: Uint8ClampedArray, stride: number, plan: CropPlan): HostPixels {
  const { top, left, factor: f } = plan;
  const side = plan.side / f;
  const data = new Float32Array(side * side * 3);
  const norm = 1 / (f * f);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let dy = 0; dy < f; dy++) {
        let p = ((top + y * f + dy) * stride + left + x * f) * 4;
        for (let dx = 0; dx < f; dx++, p += 4) {
          r += rgba[p];
          g += rgba[p + 1];
          b += rgba[p + 2];
        }
      }
      const o = (y * side + x) * 3;
      data[o] = r * norm;
      data[o + 1] = g * norm;
      data[o + 2] = b * norm;
    }
  }
  return { data, side };
}

/**
 * Read a DOM image (img at its natural size, canvas, OffscreenCanvas, video frame, ImageBitmap, ImageData)
 * to host pixels, reduced as far as hostBlock allows for a square model input of side `size` (0: the
 * pre-reduction only). Waits at most `timeoutMs` for an image or video that is still loading.
 */
export async function readDomPixels(input: unknown, timeoutMs: number, size: number, index?: number): Promise<HostPixels> {
  if (isA<ImageData>(input, 'ImageData')) {
    checkSize(input.width, input.height, 'the ImageData', index);
    const plan = cropPlan(input.height, input.width);
    return reduce(input.data, input.width, { ...plan, factor: hostBlock(plan, size) });
  }
  const ready = await readySize(input, timeoutMs, index);
  if (!ready) {
    throw unsupportedInput(input, index);
  }
  const [src, w, h] = ready;
  const plan = cropPlan(h, w);
  return reduce(rgbaOf(src, plan, index), plan.side, { ...plan, top: 0, left: 0, factor: hostBlock(plan, size) });
}

/** Host pixels as a [1, side, side, 3] float32 tensor (caller disposes). */
export function pixelsToTensor(p: HostPixels): tf.Tensor4D {
  return tf.tensor4d(p.data, [1, p.side, p.side, 3]);
}

/**
 * Validate image tensors: one image is [H, W, 3] or [1, H, W, 3], a batch (`batch`) is [N, H, W, 3];
 * int32 or float32, finite, 0..255, checked with ONE readback for the whole tensor.
 * Returns float32 [N, H, W, 3] (caller disposes).
 */
export async function readTensor(t: tf.Tensor, batch: boolean, index?: number): Promise<tf.Tensor4D> {
  if (t.isDisposed) throw new IamNNInputError('missing', 'the tensor has been disposed', index);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') {
    throw new IamNNInputError('bad-dtype', `tensor dtype ${t.dtype}; expected float32 or int32 with values 0..255`, index);
  }
  const shape = t.shape;
  const ok = batch
    ? shape.length === 4 && shape[3] === 3
    : (shape.length === 3 && shape[2] === 3) || (shape.length === 4 && shape[0] === 1 && shape[3] === 3);
  if (!ok) throw new IamNNInputError('bad-shape', `tensor shape [${shape}]; expected ${batch ? '[N, H, W, 3]' : '[H, W, 3] or [1, H, W, 3]'}`, index);
  if (shape.length === 4 && shape[0] === 0) throw new IamNNInputError('empty-batch', 'the batch tensor holds no images', index);
  checkSize(shape[shape.length - 2], shape[shape.length - 3], 'the tensor', index);
  // sum(0 * x) is NaN exactly when x holds a NaN or an Infinity (min and max may skip a NaN), and cannot
  // overflow. Three reductions and one readback, for a whole batch.
  const stats = tf.tidy(() => {
    const f = tf.cast(t, 'float32');
    return tf.stack([tf.sum(tf.mul(f, 0)), tf.min(f), tf.max(f)]);
  });
  let nanProbe: number, lo: number, hi: number;
  try {
    [nanProbe, lo, hi] = await stats.data();
  } finally {
    stats.dispose();
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || Number.isNaN(nanProbe)) {
    throw new IamNNInputError('not-finite', 'the tensor holds NaN or Infinity', index);
  }
  if (lo < 0 || hi > 255) throw new IamNNInputError('out-of-range', `values span ${lo}..${hi}; expected 0..255`, index);
  return tf.tidy(() => tf.cast(shape.length === 3 ? tf.expandDims(t, 0) : t, 'float32') as tf.Tensor4D);
}

/**
 * Center-crop, pre-reduce, area-resize and normalize [N, H, W, 3] 0..255 images to [N, S, S, 3]: a batch tensor
 * goes through in one set of ops rather than one per image.
 */
export function preprocess(img: tf.Tensor4D, spec: ModelSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = img.shape;
    const { height: S, width: Sw } = spec.input;
    const { top, left, side, factor } = cropPlan(h, w);
    let x: tf.Tensor4D = tf.cast(img, 'float32'); // int32 pixels (fromPixels, user tensors) too
    if (side !== h || side !== w) x = tf.slice(x, [0, top, left, 0], [-1, side, side, 3]);
    if (factor > 1) x = tf.avgPool(x, factor, factor, 'valid');
    const reduced = side / factor;
    const k = Math.max(1, Math.floor(reduced / S));
    if (reduced !== k * S || S !== Sw) x = tf.image.resizeBilinear(x, [k * S, k * Sw], false, true);
    if (k > 1) x = tf.avgPool(x, k, k, 'valid');
    const { mean, std } = spec.normalization;
    return tf.div(tf.sub(tf.div(x, 255), tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D;
  });
}
