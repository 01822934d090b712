/**
 * Turns any supported image source into a float32 [H, W, 3] tensor of 0..255 RGB values, with a
 * typed {@link IamNNInputError} for everything that cannot be classified, then resizes and normalizes
 * it as model.json says:
 *   resize "center-crop-area": crop the centred square of side min(H, W); if the side is not a
 *   multiple of the model's input size S, resize it bilinearly (half-pixel centres) to k*S with
 *   k = max(1, floor(side / S)); then average k x k blocks down to S x S (area downsampling, no aliasing).
 *   normalization: (x / 255 - mean) / std per channel.
 */
import * as tf from '@tensorflow/tfjs-core';
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

const VIDEO_WAIT_MS = 10_000;

function isA<T>(x: unknown, name: string): x is T {
  const ctor = (globalThis as Record<string, unknown>)[name];
  return typeof ctor === 'function' && x instanceof (ctor as new () => unknown);
}

function fromPixels(src: Parameters<typeof tf.browser.fromPixels>[0], index?: number): tf.Tensor4D {
  try {
    return tf.tidy(() => tf.expandDims(tf.browser.fromPixels(src, 3), 0));
  } catch (e) {
    if ((e as Error).name === 'SecurityError') {
      throw new IamNNInputError('tainted', 'the image comes from another origin without CORS; serve it with Access-Control-Allow-Origin and set crossOrigin="anonymous"', index);
    }
    throw new IamNNInputError('unsupported-type', `could not read pixels: ${(e as Error).message}`, index);
  }
}

function checkSize(w: number, h: number, what: string, index?: number): void {
  if (!(w > 0 && h > 0)) throw new IamNNInputError('empty', `${what} is ${w}x${h}`, index);
}

async function waitForVideo(v: HTMLVideoElement, index?: number): Promise<void> {
  if (v.readyState >= 2) return;
  await new Promise<void>((resolve, reject) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      v.removeEventListener('loadeddata', onData);
      v.removeEventListener('error', onError);
      if (ok) resolve();
      else reject(new IamNNInputError('not-loaded', `the video has no frame (readyState ${v.readyState}, error ${v.error?.code ?? 'none'})`, index));
    };
    const onData = () => done(true);
    const onError = () => done(false);
    const timer = setTimeout(() => done(false), VIDEO_WAIT_MS);
    v.addEventListener('loadeddata', onData);
    v.addEventListener('error', onError);
    if (v.error) done(false);
  });
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
  const [nanProbe, lo, hi] = await stats.data();
  stats.dispose();
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || Number.isNaN(nanProbe)) {
    throw new IamNNInputError('not-finite', 'the tensor holds NaN or Infinity', index);
  }
  if (lo < 0 || hi > 255) throw new IamNNInputError('out-of-range', `values span ${lo}..${hi}; expected 0..255`, index);
  return tf.tidy(() => tf.cast(shape.length === 3 ? tf.expandDims(t, 0) : t, 'float32') as tf.Tensor4D);
}

/** Read any supported input into a [1, H, W, 3] 0..255 tensor, a batch of one (caller disposes). */
export async function readPixels(input: unknown, index?: number): Promise<tf.Tensor4D> {
  if (input === null || input === undefined) throw new IamNNInputError('missing', `got ${input}`, index);
  if (input instanceof tf.Tensor) return readTensor(input, false, index);
  if (isA<HTMLImageElement>(input, 'HTMLImageElement')) {
    if (!input.complete || input.naturalWidth === 0) {
      if (!input.src) throw new IamNNInputError('not-loaded', 'the <img> has no src', index);
      try {
        await input.decode();
      } catch {
        throw new IamNNInputError('broken-image', `the image ${input.src.slice(0, 200)} could not be decoded`, index);
      }
    }
    checkSize(input.naturalWidth, input.naturalHeight, 'the image', index);
    return fromPixels(input, index);
  }
  if (isA<HTMLVideoElement>(input, 'HTMLVideoElement')) {
    await waitForVideo(input, index);
    checkSize(input.videoWidth, input.videoHeight, 'the video frame', index);
    return fromPixels(input, index);
  }
  if (isA<HTMLCanvasElement>(input, 'HTMLCanvasElement') || isA<OffscreenCanvas>(input, 'OffscreenCanvas')) {
    // Through an ImageBitmap: WebGPU's fromPixels cannot read a canvas that has no rendering
    // context yet (a blank canvas), and cannot take an OffscreenCanvas at all.
    checkSize(input.width, input.height, `the ${input.constructor.name}`, index);
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(input);
    } catch (e) {
      throw new IamNNInputError('unsupported-type', `could not read the canvas: ${(e as Error).message}`, index);
    }
    try {
      return fromPixels(bitmap, index);
    } finally {
      bitmap.close();
    }
  }
  if (isA<ImageBitmap>(input, 'ImageBitmap')) {
    checkSize(input.width, input.height, 'the ImageBitmap (closed?)', index);
    return fromPixels(input, index);
  }
  if (isA<ImageData>(input, 'ImageData')) {
    checkSize(input.width, input.height, 'the ImageData', index);
    return fromPixels(input, index);
  }
  const name = (input as object)?.constructor?.name ?? typeof input;
  throw new IamNNInputError('unsupported-type', `${name}; expected HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, OffscreenCanvas, ImageBitmap, ImageData or a tf.Tensor`, index);
}

/**
 * Center-crop, area-resize and normalize [N, H, W, 3] 0..255 images to [N, S, S, 3]: a batch tensor
 * goes through in one set of ops rather than one per image.
 */
export function preprocess(img: tf.Tensor4D, spec: ModelSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = img.shape;
    const { height: S, width: Sw } = spec.input;
    const side = Math.min(h, w);
    let x: tf.Tensor4D = side === h && side === w ? img : tf.slice(img, [0, Math.floor((h - side) / 2), Math.floor((w - side) / 2), 0], [-1, side, side, 3]);
    const k = Math.max(1, Math.floor(side / S));
    if (side !== k * S || S !== Sw) x = tf.image.resizeBilinear(x, [k * S, k * Sw], false, true);
    if (k > 1) x = tf.avgPool(x, k, k, 'valid');
    const { mean, std } = spec.normalization;
    return tf.div(tf.sub(tf.div(x, 255), tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D;
  });
}
