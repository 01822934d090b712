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
  const targets = ['iamnn', 'iamnn/iife', 'iamnn/package.json', 'iamnn/models/cifar10/model.json', 'iamnn/standalone', 'iamnn/worker', 'iamnn/models/cifar10'].map((spec) => {
    const path = fileURLToPath(import.meta.resolve(spec)); // Node's resolver, through the exports map
    expect(existsSync(path), `${spec} -> ${path}`).toBe(true);
    return path;
  });
  expect(targets[0]).toMatch(/dist\/iamnn\.js$/);
  expect(targets[1]).toMatch(/dist\/iamnn\.iife\.js$/);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  expect(targets[4]).toMatch(/dist\/iamnn\.standalone\.js$/);
  // bundlers may drop everything but the bundles that register tfjs backends inside themselves
  expect(targets[5]).toMatch(/dist\/iamnn-worker\.js$/);
  expect(targets[6]).toMatch(/models\/cifar10\/index\.js$/);
  expect(pkg.sideEffects).toEqual(['./dist/iamnn.iife.js', './dist/iamnn.standalone.js', './dist/iamnn.worker.js']);
});

test('a TypeScript app type-checks against dist/types', () => {
  const files = execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'e2e/consumer/tsconfig.json', '--listFiles'], { encoding: 'utf8' });
  expect(files).toContain('/dist/types/index.d.ts');
  expect(files).not.toContain('/src/index.ts');
});

test('the npm tarball leaves out the big bundles\' source maps and the screenshots', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }));
  const files: string[] = pack.files.map((f: { path: string }) => f.path);
  expect(files).toContain('dist/iamnn.standalone.js');
  expect(files).toContain('models/cifar10/model.json');
  expect(files.filter((f) => /iife\.js\.map$|standalone\.js\.map$|\.png$/.test(f))).toEqual([]);
});
