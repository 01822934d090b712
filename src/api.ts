/** The public API, shared by the ES module entry (index.ts) and the <script> entry (iife.ts). */

export { load } from './model';
export { clearCache } from './cache';
export { classifyVideo, COMPUTE_LADDER } from './video';
export type { ComputeSetting, VideoLoop, VideoOptions, VideoResult } from './video';
export type { CacheReport } from './cache';
export type { ClassifyOptions, IamNNModel, LoadOptions, ModelInfo, Prediction, Result } from './model';
export type { ImageInput } from './input';
export type { LoadProgress, ModelSource } from './weights';
export type { BackendChoice } from './backend';
export type { ModelSpec, StageSpec, FlopsSpec } from './format';
export {
  IamNNError, ModelFormatError, ModelLoadError, BackendError, IamNNInputError, OptionError, DisposedError,
} from './errors';
export type { InputProblem, BackendName, BackendAttempt } from './errors';
export const version = '0.1.0';
