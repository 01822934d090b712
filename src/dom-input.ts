/**
 * Waiting for DOM images to have pixels, with typed errors and time limits; no tfjs, so the worker client
 * (worker-client.ts) shares it with the in-page reader (input.ts).
 */
import { IamNNInputError } from './errors';

export function isA<T>(x: unknown, name: string): x is T {
  const ctor = (globalThis as Record<string, unknown>)[name];
  return typeof ctor === 'function' && x instanceof (ctor as new () => unknown);
}

/** The error for an input of no supported kind, naming its kind and the valid ones. */
export function unsupportedInput(input: unknown, index?: number): IamNNInputError {
  const name = (input as object)?.constructor?.name ?? typeof input;
  return new IamNNInputError('unsupported-type', `${name}; expected HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, OffscreenCanvas, ImageBitmap, ImageData or a tf.Tensor`, index);
}

export function checkSize(w: number, h: number, what: string, index?: number): void {
  if (!(w > 0 && h > 0)) throw new IamNNInputError('empty', `${what} is ${w}x${h}`, index);
}

/** `p`, or an IamNNInputError 'timed-out' after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string, index?: number): Promise<T> {
  if (!Number.isFinite(ms)) return p; // Infinity: no limit (setTimeout would fire at once)
  let timer: ReturnType<typeof setTimeout>;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IamNNInputError('timed-out', `${what} did not arrive within ${ms} ms (inputTimeoutMs)`, index)), Math.min(ms, 2 ** 31 - 1));
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

export async function waitForImage(img: HTMLImageElement, ms: number, index?: number): Promise<void> {
  if (img.complete && img.naturalWidth > 0) return;
  if (!img.currentSrc && !img.src && !img.srcset) throw new IamNNInputError('not-loaded', 'the <img> has no src or srcset', index);
  const decoded = img.decode().catch(() => {
    throw new IamNNInputError('broken-image', `the image ${(img.currentSrc || img.src).slice(0, 200)} could not be decoded`, index);
  });
  await within(decoded, ms, `the image ${(img.currentSrc || img.src || img.srcset).slice(0, 200)}`, index);
}

export async function waitForVideo(v: HTMLVideoElement, ms: number, index?: number): Promise<void> {
  if (v.readyState >= 2) return;
  if (!v.src && !v.srcObject && !v.querySelector('source')) {
    throw new IamNNInputError('not-loaded', 'the <video> has no source (src, srcObject or <source>)', index);
  }
  let onData = () => undefined as void;
  let onError = () => undefined as void;
  const frame = new Promise<void>((resolve, reject) => {
    onData = () => resolve();
    onError = () => reject(new IamNNInputError('not-loaded', `the video has no frame (readyState ${v.readyState}, error ${v.error?.code ?? 'none'})`, index));
    v.addEventListener('loadeddata', onData);
    v.addEventListener('error', onError);
    if (v.error) onError();
  });
  try {
    await within(frame, ms, 'the video frame', index);
  } finally { // on a timeout too: a stalled stream classified every second must not pile up listeners
    v.removeEventListener('loadeddata', onData);
    v.removeEventListener('error', onError);
  }
}


/** Width and height of a DOM image source at its natural (intrinsic) size, once it has pixels. */
export async function readySize(input: unknown, timeoutMs: number, index?: number): Promise<[CanvasImageSource, number, number] | null> {
  if (isA<HTMLImageElement>(input, 'HTMLImageElement')) {
    await waitForImage(input, timeoutMs, index);
    checkSize(input.naturalWidth, input.naturalHeight, 'the image', index);
    return [input, input.naturalWidth, input.naturalHeight];
  }
  if (isA<HTMLVideoElement>(input, 'HTMLVideoElement')) {
    await waitForVideo(input, timeoutMs, index);
    checkSize(input.videoWidth, input.videoHeight, 'the video frame', index);
    return [input, input.videoWidth, input.videoHeight];
  }
  for (const kind of ['HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap']) {
    if (isA<HTMLCanvasElement | OffscreenCanvas | ImageBitmap>(input, kind)) {
      checkSize(input.width, input.height, kind === 'ImageBitmap' ? 'the ImageBitmap (closed?)' : `the ${kind}`, index);
      return [input, input.width, input.height];
    }
  }
  return null;
}

