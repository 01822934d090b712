/**
 * The demo app: `npm run demo` (dev server on 127.0.0.1:5173) or `vite build --config demo/vite.config.ts`
 * (static demo/dist, used by the e2e tests). It imports the BUILT SDK (dist/iamnn.js) as 'iamnn', like a
 * user's app; models/ is its public folder, so a model is at ./<id>/model.json (demo/models.mjs lists them).
 * Each model's local test archive (for CIFAR-10: IAMNN_CIFAR, else shared/datasets/cifar10/test.tar.gz in the
 * nearest folder above the checkout: demo/dataset-path.mjs) is served at ./datasets/<file> for the sample
 * gallery; nothing from it is copied or committed. Without one, that URL answers 404 with where it looked.
 */
import { createReadStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { datasetCandidates, datasetFile, samplesFor } from './dataset-path.mjs';

function serveDataset(): Plugin {
  const handler: Connect.NextHandleFunction = (req, res, next) => {
    const samples = samplesFor(new URL(req.url ?? '/', 'http://x').pathname);
    if (!samples) return next();
    const file = datasetFile(samples);
    if (!file || !existsSync(file)) {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`no ${samples.title} archive at ${datasetCandidates(samples).join(', ')}`);
      return;
    }
    res.setHeader('content-type', 'application/gzip');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'iamnn-demo-dataset',
    configureServer: (server) => { server.middlewares.use(handler); },
    configurePreviewServer: (server) => { server.middlewares.use(handler); },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: fileURLToPath(new URL('../models', import.meta.url)),
  plugins: [serveDataset()],
  resolve: { alias: { iamnn: fileURLToPath(new URL('../dist/iamnn.js', import.meta.url)) } },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 5173 },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
});
