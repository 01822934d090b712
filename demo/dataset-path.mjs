// Where a model's local test archive is (demo/models.mjs names them): $<env> (IAMNN_CIFAR for CIFAR-10),
// else shared/<path> in the nearest folder above the checkout that has one (the workplace keeps datasets in a
// `shared/` folder beside the checkouts). Used by the demo server and the e2e/bench static server; nothing is copied.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS } from './models.mjs';

/** The places datasetFile(samples) looks, in order. */
export function datasetCandidates(samples) {
  if (process.env[samples.env]) return [process.env[samples.env]];
  const out = [];
  for (let dir = dirname(fileURLToPath(new URL('..', import.meta.url))); ; dir = dirname(dir)) {
    out.push(join(dir, 'shared', samples.shared));
    if (dirname(dir) === dir) return out;
  }
}

export function datasetFile(samples) {
  return datasetCandidates(samples).find((p) => existsSync(p)) ?? null;
}

/** The sample set whose archive a request path asks for (any path ending in /datasets/<file>), or null. */
export function samplesFor(path) {
  return MODELS.map((m) => m.samples).find((s) => s && path.endsWith(`/datasets/${s.file}`)) ?? null;
}

const CIFAR = MODELS.find((m) => m.id === 'cifar10').samples;
export const cifarArchive = () => datasetFile(CIFAR);
