/**
 * Reads a .tar.gz in the browser (or Node 18+) as a stream: gunzip, walk the tar headers, keep the files
 * `keep` names and skip the rest without holding them. The Tiny-ImageNet archive is 152 MB gzipped, almost
 * all of it training images the demo never shows; only its val/ files are kept.
 */

/** One decoder for every header field and PAX record (three fields per header, ~120,000 headers in Tiny-ImageNet). */
const UTF8 = new TextDecoder();

function text(bytes: Uint8Array, start: number, len: number): string {
  const raw = bytes.subarray(start, start + len);
  const end = raw.indexOf(0);
  return UTF8.decode(end >= 0 ? raw.subarray(0, end) : raw);
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

/** The header's checksum: the sum of its bytes with the checksum field itself counted as spaces. */
function checksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum === parseInt(text(header, 148, 8).trim(), 8);
}

/** PAX extended-header records ("<len> key=value\n"..., len counting UTF-8 bytes) as a map. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const len = Number(UTF8.decode(data.subarray(at, space)));
    if (!(space > at && len > 0)) break;
    const record = UTF8.decode(data.subarray(space + 1, at + len - 1)); // without the trailing newline
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/**
 * The regular files of the .tar.gz at `url` whose path `keep` accepts, by path. `what` names it in errors.
 * Reads ustar, GNU (long names: 'L' entries) and PAX (a 'path' record for the next entry) archives, as GNU tar
 * and Python's tarfile write them.
 */
export async function readTarGz(url: string, keep: (path: string) => boolean, what: string): Promise<Map<string, Uint8Array>> {
  const res = await fetch(url).catch((e: Error) => { throw new Error(`no ${what} at ${url}: ${e.message}`); });
  if (!res.ok || !res.body) throw new Error(`no ${what} at ${url} (HTTP ${res.status})`);
  const bytes = new ByteReader(res.body.pipeThrough(new DecompressionStream('gzip')).getReader());
  const files = new Map<string, Uint8Array>();
  const broken = (why: string) => new Error(`${what} at ${url} is not a readable .tar.gz: ${why}`);
  let nextPath: string | null = null; // from a GNU long-name or PAX header, for the entry after it
  try {
    for (;;) {
      const header = await bytes.take(512);
      if (!header) throw broken(files.size ? 'it ends without the end-of-archive block (cut short?)' : 'it is empty');
      if (header.every((b) => b === 0)) break; // the end-of-archive block
      if (!checksumOk(header)) throw broken(`a header with a bad checksum after ${files.size} kept files`);
      const short = text(header, 0, 100);
      // POSIX ustar ("ustar\0" magic) splits long paths into prefix and name; GNU's own format ("ustar  \0")
      // keeps atime and ctime there instead (GNU tar -G writes them), so only POSIX headers have a prefix
      const posix = text(header, 257, 5) === 'ustar' && header[262] === 0;
      const prefix = posix ? text(header, 345, 155) : '';
      const path = nextPath ?? (prefix ? `${prefix}/${short}` : short);
      const size = parseInt(text(header, 124, 12).trim() || '0', 8);
      if (!Number.isFinite(size) || size < 0) throw broken(`${path}: a size that is not a number`);
      const type = String.fromCharCode(header[156]);
      const padded = Math.ceil(size / 512) * 512;
      const meta = type === 'L' || type === 'x';
      if (meta || ((type === '0' || type === '\0') && keep(path))) {
        const data = await bytes.take(padded);
        if (!data) throw broken(`it ends inside ${path}`);
        const body = data.subarray(0, size);
        if (type === 'L') nextPath = text(body, 0, size);
        else if (type === 'x') nextPath = paxRecords(body).get('path') ?? null;
        else files.set(path, body);
        if (meta) continue;
      } else if (!(await bytes.skip(padded))) {
        throw broken(`it ends inside ${path}`);
      }
      nextPath = null;
    }
  } catch (e) {
    // gunzip and network failures arrive as bare TypeErrors: say which archive
    throw (e as Error).message.includes(url) ? e : broken((e as Error).message);
  }
  return files;
}
