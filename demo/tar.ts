/**
 * Reads a .tar.gz in the browser (or Node 18+) as a stream: gunzip, walk the tar headers, keep the files
 * `keep` names and skip the rest without holding them. The Tiny-ImageNet archive is 152 MB gzipped, almost
 * all of it training images the demo never shows; only its val/ files are kept.
 */

function text(bytes: Uint8Array, start: number, len: number): string {
  const raw = bytes.subarray(start, start + len);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? raw.subarray(0, end) : raw);
}

/** Pulls exact byte counts from a stream of chunks. */
class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** The next `n` bytes, or null at the end of the stream (a short tail counts as the end). */
  async take(n: number): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < n) {
      if (this.pos === this.buf.length && !(await this.refill())) return null;
      const piece = this.buf.subarray(this.pos, this.pos + n - got);
      this.pos += piece.length;
      got += piece.length;
      parts.push(piece);
    }
    if (parts.length === 1) return parts[0].slice();
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  /** Drops the next `n` bytes; false if the stream ended first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.pos === this.buf.length && !(await this.refill())) return false;
      const step = Math.min(n, this.buf.length - this.pos);
      this.pos += step;
      n -= step;
    }
    return true;
  }

  private async refill(): Promise<boolean> {
    const { done, value } = await this.reader.read();
    if (done) return false;
    this.buf = value;
    this.pos = 0;
    return true;
  }
}

/** The regular files of the .tar.gz at `url` whose path `keep` accepts, by path. `what` names it in errors. */
export async function readTarGz(url: string, keep: (path: string) => boolean, what: string): Promise<Map<string, Uint8Array>> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`no ${what} at ${url} (HTTP ${res.status})`);
  const bytes = new ByteReader(res.body.pipeThrough(new DecompressionStream('gzip')).getReader());
  const files = new Map<string, Uint8Array>();
  for (;;) {
    const header = await bytes.take(512);
    if (!header) break;
    const short = text(header, 0, 100);
    if (!short) break; // the two zero blocks that end an archive
    const prefix = text(header, 345, 155); // ustar: long paths are split into prefix and name
    const path = prefix ? `${prefix}/${short}` : short;
    const size = parseInt(text(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]);
    const padded = Math.ceil(size / 512) * 512;
    if ((type === '0' || type === '\0') && keep(path)) {
      const data = await bytes.take(padded);
      if (!data) throw new Error(`${what} at ${url} ends inside ${path}`);
      files.set(path, data.subarray(0, size));
    } else if (!(await bytes.skip(padded))) {
      throw new Error(`${what} at ${url} ends inside ${path}`);
    }
  }
  return files;
}
