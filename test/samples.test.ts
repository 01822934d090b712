/** The demo's sample-set readers (demo/samples.ts) on small archives made here, in the official layouts. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFile } from '../demo/dataset-path.mjs';
import { readClassFolders, readTinyImagenetVal } from '../demo/samples';

let dir: string;
const realFetch = globalThis.fetch;

/** A .tar.gz of `files` made by GNU tar (GNU format, as the official archives: long names as 'L' entries), its
 *  path standing for a URL (the fake fetch reads files). */
function archive(name: string, files: Record<string, string | Uint8Array>, tarFlags: string[] = []): string {
  const root = join(dir, name);
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  const out = join(dir, `${name}.tar.gz`);
  execFileSync('tar', [...tarFlags, '-czf', out, '-C', root, '.']);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iamnn-samples-'));
  globalThis.fetch = (async (url: string) => new Response(new Blob([readFileSync(url)]).stream())) as typeof fetch;
});
afterAll(() => { globalThis.fetch = realFetch; });

/** [path without tar's leading "./", label] of each sample read from a folder-per-class archive, in order. */
const pathsAndLabels = async (url: string) => (await readClassFolders(url)).map((g) => [g.name.replace(/^\.\//, ''), g.label]);

const jpegBytes = (k: number) => Uint8Array.from([0xff, 0xd8, k, ...new Array(700 + k).fill(k), 0xff, 0xd9]);

describe('sample archives', () => {
  it('folder-per-class: every JPEG in path order, labelled by its folder, bytes intact', async () => {
    const url = archive('cifar', { 'test/cat/0002.jpg': jpegBytes(2), 'test/airplane/0001.jpg': jpegBytes(1), 'test/cat/0001.jpg': jpegBytes(3), 'test/readme.txt': 'x',
      'test/cat/._0001.jpg': 'AppleDouble', 'test/.thumbs/0003.jpg': jpegBytes(4) }); // hidden: skipped
    const got = await readClassFolders(url);
    expect(got.map((g) => [g.name.replace(/^\.\//, ''), g.label])).toEqual([['test/airplane/0001.jpg', 'airplane'], ['test/cat/0001.jpg', 'cat'], ['test/cat/0002.jpg', 'cat']]);
    expect(new Uint8Array(await got[2].blob.arrayBuffer())).toEqual(jpegBytes(2));
  });

  it('Tiny-ImageNet: the val images, labelled with the first words.txt name of their wnid, training images skipped', async () => {
    const big = new Uint8Array(3 << 20).fill(7); // a 3 MiB training image: skipped across many stream chunks
    const url = archive('tiny', {
      'tiny-imagenet-200/wnids.txt': 'n01443537\nn04146614\n',
      'tiny-imagenet-200/words.txt': 'n01443537\tgoldfish, Carassius auratus\nn04146614\tschool bus\nn99999999\tunused\n',
      'tiny-imagenet-200/train/n01443537/images/n01443537_0.JPEG': big,
      'tiny-imagenet-200/val/val_annotations.txt': 'val_1.JPEG\tn04146614\t0\t0\t63\t63\nval_0.JPEG\tn01443537\t1\t2\t60\t61\n',
      'tiny-imagenet-200/val/images/val_1.JPEG': jpegBytes(1),
      'tiny-imagenet-200/val/images/val_0.JPEG': jpegBytes(0),
    });
    const got = await readTinyImagenetVal(url);
    expect(got.map((g) => [g.name.split('/').at(-1), g.label])).toEqual([['val_0.JPEG', 'goldfish'], ['val_1.JPEG', 'school bus']]);
    expect(new Uint8Array(await got[1].blob.arrayBuffer())).toEqual(jpegBytes(1));
  });

  it('Tiny-ImageNet: an image without an annotation is an error that names it', async () => {
    const url = archive('tiny-bad', {
      'words.txt': 'n01443537\tgoldfish\n', 'val/val_annotations.txt': 'val_0.JPEG\tn01443537\n',
      'val/images/val_0.JPEG': jpegBytes(0), 'val/images/val_9.JPEG': jpegBytes(9),
    });
    await expect(readTinyImagenetVal(url)).rejects.toThrow(/val_9\.JPEG: no class/);
  });

  it('long paths: GNU long-name entries and PAX path records (as GNU tar and Python\'s tarfile write them)', async () => {
    const deep = `${'long-folder-name/'.repeat(8)}cat`;
    const gnu = archive('long', { [`${deep}/0001.jpg`]: jpegBytes(4) }, ['--format=gnu']); // long names as 'L' entries
    expect(await pathsAndLabels(gnu)).toEqual([[`${deep}/0001.jpg`, 'cat']]);
    const pax = join(dir, 'pax.tar.gz');
    execFileSync('/usr/bin/python3', ['-c', [
      'import io, sys, tarfile',
      'with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:',
      '    data = bytes(range(256)) * 3',
      '    info = tarfile.TarInfo(sys.argv[2] + "/0002.jpg"); info.size = len(data); t.addfile(info, io.BytesIO(data))',
    ].join('\n'), pax, `${deep}-ü`]);
    const got = await readClassFolders(pax);
    expect(got.map((g) => [g.name, g.label])).toEqual([[`${deep}-ü/0002.jpg`, 'cat-ü']]);
    expect(got[0].blob.size).toBe(768);
  });

  it('GNU incremental archives (atime and ctime where POSIX keeps a path prefix) and POSIX ustar prefixes', async () => {
    const gnu = archive('incremental', { 'test/cat/0001.jpg': jpegBytes(1) }, ['--format=gnu', '-G']);
    expect(await pathsAndLabels(gnu)).toEqual([['test/cat/0001.jpg', 'cat']]);
    const deep = `${'folder-ten/'.repeat(12)}cat`; // 135 characters: ustar splits it into prefix and name
    const ustar = archive('ustar', { [`${deep}/0002.jpg`]: jpegBytes(2) }, ['--format=ustar']);
    expect(await pathsAndLabels(ustar)).toEqual([[`${deep}/0002.jpg`, 'cat']]);
  });

  it('an archive cut short between entries, or not gzip at all, is an error that names it', async () => {
    const url = archive('two', { 'a/x.jpg': jpegBytes(1), 'a/y.jpg': jpegBytes(2) });
    const raw = execFileSync('gzip', ['-dc'], { input: readFileSync(url) });
    const cut = join(dir, 'cut-between.tar.gz');
    writeFileSync(cut, execFileSync('gzip', ['-c'], { input: raw.subarray(0, 2560) })); // ./, ./a/ and one whole entry (512 + 1024): cut between entries
    await expect(readClassFolders(cut)).rejects.toThrow(/cut-between\.tar\.gz is not a readable \.tar\.gz: .*end-of-archive/);
    const notGzip = join(dir, 'plain.tar.gz');
    writeFileSync(notGzip, 'PK\u0003\u0004 a zip file');
    await expect(readClassFolders(notGzip)).rejects.toThrow(/plain\.tar\.gz is not a readable \.tar\.gz/);
  });

  it('a truncated archive is an error, not a short list', async () => {
    const url = archive('cut', { 'a/x.jpg': new Uint8Array(200_000).fill(3) });
    const gz = readFileSync(url);
    const raw = execFileSync('gzip', ['-dc'], { input: gz });
    const cut = join(dir, 'cut-short.tar.gz');
    writeFileSync(cut, execFileSync('gzip', ['-c'], { input: raw.subarray(0, 100_000) }));
    await expect(readClassFolders(cut)).rejects.toThrow(/ends inside .*x\.jpg/);
  });
});

/** Where the official Tiny-ImageNet archive is, as the demo server would find it ($IAMNN_TINY_IMAGENET or shared/). */
const tinyArchive = datasetFile({ title: '', file: '', env: 'IAMNN_TINY_IMAGENET', shared: 'datasets/tiny-imagenet-200/tiny-imagenet-200.tar.gz', format: 'tiny-imagenet-val' });

describe('the real archive, where in reach', () => {
  it.runIf(tinyArchive)('Tiny-ImageNet: 10,000 validation images, 50 of each of 200 classes, labelled by words.txt', async () => {
    const got = await readTinyImagenetVal(tinyArchive!);
    expect(got).toHaveLength(10_000);
    const counts = new Map<string, number>();
    got.forEach((g) => counts.set(g.label, (counts.get(g.label) ?? 0) + 1));
    expect(counts.size).toBe(200);
    expect([...counts.values()].every((c) => c === 50)).toBe(true);
    expect(counts.has('goldfish') && counts.has('school bus')).toBe(true);
  }, 120_000);
});
