export function cifarArchive(): string | null;
