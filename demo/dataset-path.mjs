// Where the local CIFAR-10 test archive is: $IAMNN_CIFAR, else ../shared/datasets/cifar10/test.tar.gz
// beside the checkout when it exists. Used by the demo server and the e2e/bench static server.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function cifarArchive() {
  if (process.env.IAMNN_CIFAR) return process.env.IAMNN_CIFAR;
  const shared = fileURLToPath(new URL('../../shared/datasets/cifar10/test.tar.gz', import.meta.url));
  return existsSync(shared) ? shared : null;
}
