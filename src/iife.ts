/**
 * The <script> entry: `<script src=".../iamnn.iife.js"></script>` defines `window.IamNN`
 * (`IamNN.load(...)`, the error classes, `IamNN.version`).
 */
import './webgpu';
import './cpu';
import { enableWasm } from './backend-wasm';

/**
 * This bundle's own URL, read while it first runs: document.currentScript on a page; in a classic worker
 * (importScripts) there is none, and the URL is taken from the stack of an error thrown here.
 */
function bundleUrl(): string | undefined {
  if (typeof document !== 'undefined') return (document.currentScript as HTMLScriptElement | null)?.src || undefined;
  return /(?:https?|file|blob):\/\/[^\s()]+?\.js/.exec(new Error().stack ?? '')?.[0];
}

// The .wasm files sit beside the bundle: found whatever page, worker, path or origin includes it.
const url = bundleUrl();
enableWasm(url && new URL('./', url).href);

export * from './api';
