import type { SampleSet } from './models.d.mts';

export function datasetCandidates(samples: SampleSet): string[];
export function datasetFile(samples: SampleSet): string | null;
export function samplesFor(path: string): SampleSet | null;
export function cifarArchive(): string | null;
