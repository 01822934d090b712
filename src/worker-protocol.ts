/** Messages between the worker client (worker-client.ts, the page) and the worker (worker.ts). */
import type { ClassifyOptions, LoadOptions, ModelInfo, Result } from './model';
import type { LoadProgress, ModelSource } from './weights';

/** An input as it crosses to the worker: a transferred ImageBitmap, ImageData's bytes, or a tensor's values. */
export type WireInput =
  | { bitmap: ImageBitmap }
  | { imageData: { data: Uint8ClampedArray<ArrayBuffer>; width: number; height: number } }
  | { tensor: { values: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' } };

/** The LoadOptions that can cross (functions, signals and custom fetches cannot). */
export type WireLoadOptions = Omit<LoadOptions, 'onProgress' | 'signal' | 'fetch'>;

export type Request =
  | { id: number; op: 'load'; model: ModelSource; options: WireLoadOptions }
  | { id: number; op: 'classify'; inputs: WireInput[]; batchTensor: boolean; single: boolean; options: Omit<ClassifyOptions, 'signal'> }
  | { id: number; op: 'abort'; target: number }
  | { id: number; op: 'dispose' };

/** A request before the client numbers it. */
export type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

/** An error as it crosses back: its class name, message and typed fields (problem, index, field, url...). */
export interface WireError {
  name: string;
  message: string;
  fields: Record<string, unknown>;
}

export type Reply =
  | { id: number; progress: LoadProgress }
  | { id: 0; backendchange: unknown; info: ModelInfo }
  | { id: number; ok: true; value: ModelInfo | Result[] | null }
  | { id: number; ok: false; error: WireError };
