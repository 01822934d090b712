/**
 * IamNN for the web: the ES module entry with every backend (src/iife.ts is the `<script>` one). An app that
 * uses one backend imports its entry instead ('iamnn/webgpu', 'iamnn/wasm', 'iamnn/cpu'): this one is their union.
 *
 *   import { load } from 'iamnn';
 *   const model = await load('/models/cifar10/model.json');
 *   const { label, iterations, flops } = await model.classify(imgElement);
 */
import './webgpu';
import './wasm';
import './cpu';

export * from './api';
