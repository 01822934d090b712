/**
 * IamNN for the web: the ES module entry (src/iife.ts is the `<script>` one).
 *
 *   import { load } from 'iamnn';
 *   const model = await load('/models/cifar10/model.json');
 *   const { label, iterations, flops } = await model.classify(imgElement);
 */
import { setDefaultWasmPaths } from './model';
import { wasmFiles } from './wasm-files';

setDefaultWasmPaths(wasmFiles());

export * from './api';
