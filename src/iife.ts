/**
 * The <script> entry: `<script src=".../iamnn.iife.js"></script>` defines `window.IamNN`
 * (`IamNN.load(...)`, the error classes, `IamNN.version`).
 */
import { setDefaultWasmPaths } from './model';

// document.currentScript is only set while this script first runs: take the folder now, so the
// .wasm files beside the bundle are found whatever page, path or origin includes it.
const script = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
if (script?.src) setDefaultWasmPaths(new URL('./', script.src).href);

export * from './api';
