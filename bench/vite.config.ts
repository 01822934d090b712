/** The benchmark page, built against the BUILT SDK (dist/iamnn.js): `vite build --config bench/vite.config.ts`. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  base: './',
  resolve: { alias: { iamnn: fileURLToPath(new URL('../dist/iamnn.js', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
});
