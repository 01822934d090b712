export function cifarCandidates(): string[];
export function cifarArchive(): string | null;
