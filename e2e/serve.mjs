/**
 * Static file server for the e2e tests, the demo's built output and the benchmark, on 127.0.0.1 only.
 *   node e2e/serve.mjs [port=4173] [secondPort=4174]
 * Serves the repository root on both ports, so a page on one origin can include the bundle from the
 * other (the script-tag test). Every file carries Access-Control-Allow-Origin: *, like a CDN, except
 * those under /e2e/pages/nocors/, for the tainted-canvas test. Any path ending in /datasets/<file> of a shipped model's
 * sample set (demo/models.mjs, e.g. cifar10-test.tar.gz) is that local archive (demo/dataset-path.mjs), streamed from
 * outside the repository, as the demo server does. Paths under /stall/
 * answer with headers and then never send a byte (a stalled server, for the fault tests). /isolated/<path> is
 * <path> with the headers that make a page cross-origin isolated (COOP same-origin, COEP require-corp): WASM
 * threads. Every file already carries Cross-Origin-Resource-Policy: cross-origin, which require-corp wants of
 * the other origin's files.
 */
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetCandidates, datasetFile, samplesFor } from '../demo/dataset-path.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.svg': 'image/svg+xml', '.map': 'application/json',
};

function handler(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/stall/')) {
    res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' });
    res.flushHeaders();
    return; // never ends; the browser gives up on its own
  }
  const isolated = url.pathname.startsWith('/isolated/');
  let path = normalize(decodeURIComponent(isolated ? url.pathname.slice('/isolated'.length) : url.pathname));
  if (path.endsWith('/')) path += 'index.html';
  const samples = samplesFor(path);
  const dataset = samples ? datasetFile(samples) : null;
  if (samples && !dataset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`no ${samples.title} archive at ${datasetCandidates(samples).join(', ')}`);
    return;
  }
  const file = dataset ?? join(ROOT, path);
  if ((!dataset && !file.startsWith(ROOT)) || /(^|\/)(\.git|node_modules\/\.cache)(\/|$)/.test(path)) {
    res.writeHead(403).end();
    return;
  }
  let size;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-store' };
  if (!path.startsWith('/e2e/pages/nocors/')) headers['access-control-allow-origin'] = '*';
  headers['cross-origin-resource-policy'] = 'cross-origin';
  if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
  res.writeHead(200, headers);
  createReadStream(file).pipe(res);
}

const ports = process.argv.slice(2).map(Number);
for (const port of ports.length ? ports : [4173, 4174]) {
  createServer(handler).listen(port, '127.0.0.1', () => console.log(`serving ${ROOT} on http://127.0.0.1:${port}/`));
}
