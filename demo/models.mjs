// The shipped models the demo offers, one line each: adding one (a folder models/<id>/ with model.json and
// report.json, as export.py and evaluate.py write them) is one more entry here. `samples` is the model's
// labelled test set for the sample gallery: a local archive the demo server streams from outside the
// repository (dataset-path.mjs), never copied or committed, in the order report.json's test indices count
// in (sorted by name). `format` names the reader in demo/samples.ts. Plain JS, so the Node servers read it too.

/** @type {import('./models.d.mts').ShippedModel[]} */
export const MODELS = [
  { id: 'cifar10', title: 'CIFAR-10 (10 classes, 32×32 px)', samples: { title: 'CIFAR-10 test set', file: 'cifar10-test.tar.gz', env: 'IAMNN_CIFAR', shared: 'datasets/cifar10/test.tar.gz', format: 'class-folders' } },
];
