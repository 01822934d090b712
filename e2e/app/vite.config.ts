/** Builds the e2e ES-module app against the built package: `vite build --config e2e/app/vite.config.ts`. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { alias: { iamnn: fileURLToPath(new URL('../../dist/iamnn.js', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
