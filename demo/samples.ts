/** A model's sample set (demo/models.mjs) in the browser: where the demo server serves it and how to read it. */
import { readCifarArchive, type LabelledImage } from './cifar';
import type { SampleSet } from './models.mjs';

/** One reader per archive layout; each returns every image in the order report.json's test indices count in. */
const READERS: Record<SampleSet['format'], (url: string) => Promise<LabelledImage[]>> = {
  'class-folders': readCifarArchive,
};

export const samplesUrl = (s: SampleSet): string => `./datasets/${s.file}`;

export const readSamples = (s: SampleSet): Promise<LabelledImage[]> => READERS[s.format](samplesUrl(s));
