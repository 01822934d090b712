/**
 * The package as an app sees it, after the build: package.json's exports resolve to built files,
 * and a TypeScript consumer type-checks against the emitted declarations. Node-only: runs once.
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

test.beforeEach(({}, info) => test.skip(info.project.name !== 'wasm', 'browser-independent: one project is enough'));

test('every export resolves to a built file', () => {
  const targets = ['iamnn', 'iamnn/iife', 'iamnn/package.json', 'iamnn/models/cifar10/model.json', 'iamnn/standalone', 'iamnn/worker', 'iamnn/models/cifar10',
    'iamnn/webgpu', 'iamnn/wasm', 'iamnn/cpu'].map((spec) => {
    const path = fileURLToPath(import.meta.resolve(spec)); // Node's resolver, through the exports map
    expect(existsSync(path), `${spec} -> ${path}`).toBe(true);
    return path;
  });
  expect(targets[0]).toMatch(/dist\/iamnn\.js$/);
  expect(targets[1]).toMatch(/dist\/iamnn\.iife\.js$/);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  expect(targets[4]).toMatch(/dist\/iamnn\.standalone\.js$/);
  expect(targets[5]).toMatch(/dist\/iamnn-worker\.js$/);
  expect(targets[6]).toMatch(/models\/cifar10\/index\.js$/);
  expect(targets.slice(7)).toEqual(['webgpu', 'wasm', 'cpu'].map((b) => expect.stringMatching(new RegExp(`dist/iamnn-${b}\\.js$`))));
  // The entries enable their backends as a side effect (iamnn.js imports the three single-backend ones for
  // that alone), so no bundler may drop a dist file it imports; in src/ the entries that others import.
  expect(pkg.sideEffects).toEqual(['./src/index.ts', './src/webgpu.ts', './src/wasm.ts', './src/cpu.ts', './dist/*.js']);
  // Required peers, which npm installs with the package ('iamnn' needs all of them; optional ones it would
  // not install); an app bundles only the backends its entries import.
  expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-core']);
  expect(pkg.peerDependenciesMeta).toBeUndefined();
});

test('a TypeScript app type-checks against dist/types', () => {
  const files = execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'e2e/consumer/tsconfig.json', '--listFiles'], { encoding: 'utf8' });
  expect(files).toContain('/dist/types/index.d.ts');
  expect(files).toContain('/dist/types/wasm.d.ts'); // one-backend.ts imports iamnn/wasm
  expect(files).not.toContain('/src/index.ts');
});

test('the npm tarball leaves out the big bundles\' source maps and the screenshots', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }));
  const files: string[] = pack.files.map((f: { path: string }) => f.path);
  expect(files).toContain('dist/iamnn.standalone.js');
  expect(files).toContain('models/cifar10/model.json');
  expect(files.filter((f) => /iife\.js\.map$|standalone\.js\.map$|\.png$/.test(f))).toEqual([]);
});
