/** A model's sample set (demo/models.mjs) in the browser: where the demo server serves it and how to read it. */
import type { SampleSet } from './models.mjs';
import { readTarGz } from './tar';

export interface LabelledImage {
  name: string;
  label: string;
  blob: Blob;
}

/** A JPEG that is not hidden: no part of its path starts with a dot once a leading "./" is dropped (macOS archives
 * carry a `._name.jpg` resource fork beside each image), the rule training/data.py reads archives by too. */
const isJpeg = (path: string) =>
  /\.jpe?g$/i.test(path) && !path.replace(/^(\.\/)+/, '').split('/').some((part) => part.startsWith('.'));
const jpeg = (data: Uint8Array) => new Blob([data as BlobPart], { type: 'image/jpeg' });
const byName = (a: LabelledImage, b: LabelledImage) => (a.name < b.name ? -1 : 1);

/** Every JPEG of a folder-per-class archive (CIFAR-10's test.tar.gz), in path order, its folder as label. */
export async function readClassFolders(url: string): Promise<LabelledImage[]> {
  const files = await readTarGz(url, isJpeg, 'image archive');
  return [...files].map(([name, data]) => ({ name, label: name.split('/').at(-2) ?? '', blob: jpeg(data) })).sort(byName);
}

/**
 * Tiny-ImageNet's 10,000 labelled validation images from the official archive (its val/images/*.JPEG, the wnid
 * of each in val/val_annotations.txt), in path order, each labelled with the first name of its wnid in
 * words.txt: what training/data.py calls the classes, and what the model's labels are.
 */
export async function readTinyImagenetVal(url: string): Promise<LabelledImage[]> {
  const wanted = (p: string) => /(^|\/)val\/images\/[^/]+$/.test(p) && isJpeg(p)
    || /(^|\/)(val\/val_annotations|words)\.txt$/.test(p);
  const files = await readTarGz(url, wanted, 'Tiny-ImageNet archive');
  const textOf = (suffix: string) => {
    const hit = [...files.keys()].filter((p) => p === suffix || p.endsWith(`/${suffix}`)).sort((a, b) => a.length - b.length)[0];
    if (!hit) throw new Error(`the Tiny-ImageNet archive at ${url} has no ${suffix}`);
    return new TextDecoder().decode(files.get(hit));
  };
  const wnidOf = new Map(textOf('val/val_annotations.txt').split('\n').filter((l) => l.trim()).map((l) => l.split('\t').slice(0, 2) as [string, string]));
  const nameOf = new Map(textOf('words.txt').split('\n').filter((l) => l.includes('\t')).map((l) => {
    const [wnid, names] = l.split('\t');
    return [wnid, names.split(',')[0].trim()] as [string, string];
  }));
  const out: LabelledImage[] = [];
  for (const [name, data] of files) {
    if (!isJpeg(name)) continue;
    const wnid = wnidOf.get(name.split('/').at(-1) ?? '');
    const label = wnid && nameOf.get(wnid);
    if (!label) throw new Error(`${name}: no class in val_annotations.txt / words.txt`);
    out.push({ name, label, blob: jpeg(data) });
  }
  return out.sort(byName);
}

/** One reader per archive layout; each returns every image in the order report.json's test indices count in. */
const READERS: Record<SampleSet['format'], (url: string) => Promise<LabelledImage[]>> = {
  'class-folders': readClassFolders,
  'tiny-imagenet-val': readTinyImagenetVal,
};

export const samplesUrl = (s: SampleSet): string => `./datasets/${s.file}`;

export const readSamples = (s: SampleSet): Promise<LabelledImage[]> => READERS[s.format](samplesUrl(s));

/**
 * n images taken from the classes in turn (each class's images in archive order): every prefix is
 * class-balanced, and the first k are the same whatever n, so a benchmark's batch-1 and batch-32
 * sets and its accuracy curve, on either backend, come from one class-balanced sequence.
 */
export function classesInTurn<T extends { label: string }>(items: T[], n: number): T[] {
  const byClass = new Map<string, T[]>();
  for (const it of items) {
    const list = byClass.get(it.label);
    if (list) list.push(it);
    else byClass.set(it.label, [it]);
  }
  const lists = [...byClass.values()];
  const out: T[] = [];
  const want = Math.min(n, items.length);
  for (let j = 0; out.length < want; j++) {
    for (const list of lists) if (j < list.length && out.length < want) out.push(list[j]);
  }
  return out;
}
