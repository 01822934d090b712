/**
 * IamNN for the web. ES module entry, also built as the `<script>` bundle exposing `window.IamNN`.
 *
 *   import { load } from 'iamnn';
 *   const model = await load('/models/cifar10/model.json');
 *   const { label, iterations, flops } = await model.classify(imgElement);
 */
import { setDefaultWasmPaths } from './model';

// The .wasm binaries ship beside the bundle; find them from the bundle's own URL (the IIFE build
// turns import.meta.url into document.currentScript.src, so a script tag from any path works).
setDefaultWasmPaths(import.meta.url.slice(0, import.meta.url.lastIndexOf('/') + 1));

export { load } from './model';
export type { ClassifyOptions, IamNNModel, LoadOptions, ModelInfo, Prediction, Result } from './model';
export type { ImageInput } from './input';
export type { LoadProgress } from './weights';
export type { BackendChoice } from './backend';
export type { ModelSpec, StageSpec, FlopsSpec } from './format';
export {
  IamNNError, ModelFormatError, ModelLoadError, BackendError, IamNNInputError, OptionError, DisposedError,
} from './errors';
export type { InputProblem, BackendName, BackendAttempt } from './errors';
export const version = '0.1.0';
