// Where the local CIFAR-10 test archive is: $IAMNN_CIFAR, else shared/datasets/cifar10/test.tar.gz in the
// nearest folder above the checkout that has one (the workplace keeps datasets in a `shared/` folder beside
// the checkouts). Used by the demo server and the e2e/bench static server; nothing is copied.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RELATIVE = join('shared', 'datasets', 'cifar10', 'test.tar.gz');

/** The places cifarArchive() looks, in order. */
export function cifarCandidates() {
  if (process.env.IAMNN_CIFAR) return [process.env.IAMNN_CIFAR];
  const out = [];
  for (let dir = dirname(fileURLToPath(new URL('..', import.meta.url))); ; dir = dirname(dir)) {
    out.push(join(dir, RELATIVE));
    if (dirname(dir) === dir) return out;
  }
}

export function cifarArchive() {
  return cifarCandidates().find((p) => existsSync(p)) ?? null;
}
