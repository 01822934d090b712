/** Reads a CIFAR-10 `test.tar.gz` (folder per class) in the browser: gunzip, then walk the tar headers. */

export interface LabelledImage {
  name: string;
  label: string;
  blob: Blob;
}

function text(bytes: Uint8Array, start: number, len: number): string {
  const raw = bytes.subarray(start, start + len);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? raw.subarray(0, end) : raw);
}

/** Every JPEG in the archive, in name order, with its class folder as label. */
export async function readCifarArchive(url: string): Promise<LabelledImage[]> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`no CIFAR-10 archive at ${url} (HTTP ${res.status})`);
  const tar = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const out: LabelledImage[] = [];
  for (let off = 0; off + 512 <= tar.length;) {
    const name = text(tar, off + 345, 155) ? `${text(tar, off + 345, 155)}/${text(tar, off, 100)}` : text(tar, off, 100);
    if (!name) break;
    const size = parseInt(text(tar, off + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(tar[off + 156]);
    if ((type === '0' || type === '\0') && /\.jpe?g$/i.test(name)) {
      const parts = name.split('/');
      out.push({ name, label: parts[parts.length - 2], blob: new Blob([tar.slice(off + 512, off + 512 + size)], { type: 'image/jpeg' }) });
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

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
