/**
 * The `iamnn/webgpu` entry: the API of `iamnn` with only the WebGPU backend (tfjs-backend-webgpu). 'auto' then
 * takes a software adapter too (there is no WASM to fall back to); import `iamnn/wasm` too for that fallback.
 */
import '@tensorflow/tfjs-backend-webgpu';
import { enableBackend } from './backend';

enableBackend('webgpu');

export * from './api';
