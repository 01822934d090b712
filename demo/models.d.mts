/** A model's labelled test images for the sample gallery. */
export interface SampleSet {
  /** Its name on the page, e.g. 'CIFAR-10 test set'. */
  title: string;
  /** The archive's name under the demo's ./datasets/ URL. */
  file: string;
  /** The environment variable that points the demo server at the archive. */
  env: string;
  /** Where it is looked for under the nearest shared/ folder above the checkout. */
  shared: string;
  /** How the archive is laid out (a reader in demo/samples.ts): folders named by class (CIFAR-10's test.tar.gz),
   *  or the official Tiny-ImageNet archive, whose labelled validation images it reads. */
  format: 'class-folders' | 'tiny-imagenet-val';
}

export interface ShippedModel {
  /** Its folder under models/ (served at ./<id>/model.json and ./<id>/report.json). */
  id: string;
  title: string;
  samples: SampleSet | null;
}

export const MODELS: ShippedModel[];
