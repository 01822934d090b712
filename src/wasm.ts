/**
 * The `iamnn/wasm` entry: the API of `iamnn` with only the WASM backend (tfjs-backend-wasm), its .wasm files
 * beside this module (a bundler copies them). Import `iamnn/webgpu` or `iamnn/cpu` too to add those.
 */
import { enableWasm } from './backend-wasm';
import { wasmFiles } from './wasm-files';

enableWasm(wasmFiles());

export * from './api';
