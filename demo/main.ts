/**
 * The IamNN demo. It uses only the SDK's public API ('iamnn' = the built dist/iamnn.js), so it is
 * also an example: load with progress, classify batches, change the compute budget per call.
 */
import { classifyVideo, load, type BackendChoice, type ClassifyOptions, type IamNNModel, type Result, type VideoLoop } from 'iamnn';
import { bar, chart, el, type Series } from './charts';
import { extremes, histogramPanel, iterationCounts, rankPanel, type Ranked, type RankRow } from './figures';
import { MODELS, type ShippedModel } from './models.mjs';
import { classesInTurn, readSamples, samplesUrl, type LabelledImage } from './samples';

/** Which images an item is: yours, the sample gallery's, or one of the whole test set's extremes (report.json). */
type ItemSet = 'yours' | 'gallery' | 'easiest' | 'hardest';

interface Item {
  id: number;
  name: string;
  set: ItemSet;
  source: ImageBitmap | HTMLCanvasElement;
  thumb: HTMLCanvasElement;
  truth?: string;
  result?: Result;
}

interface ReportRow { name: string; accuracy: number; flops_mean: number; threshold?: number; caps?: number[]; epochs?: number }

/** The parts of a model's report.json (training/evaluate.py, the whole test set) the demo draws. */
interface Report {
  dataset?: string;
  rows: ReportRow[];
  iteration_histograms?: number[][];
  easiest_test_indices?: number[];
  hardest_test_indices?: number[];
}

const BATCH = 32;
const CARDS_SHOWN = 24;
/** Images per row in Figure 3: the cheapest n and the most expensive n of a set. */
const RANKED = 8;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let shipped: ShippedModel = MODELS[0];
let report: Report | null = null;
let model: IamNNModel | null = null;
let items: Item[] = [];
let selected: Item | null = null;
let nextId = 0;
let budget: ClassifyOptions = {};
const tradeoff: { threshold: number; caps: number[]; meanFlops: number; accuracy: number | null }[] = [];
// Expose state for the e2e tests and for curious users in the console.
(window as unknown as { demo: unknown }).demo = { get model() { return model; }, get items() { return items; }, ready: false };

function setStatus(id: string, msg: string): void {
  $(id).textContent = msg;
}

function fmtFlops(f: number): string {
  return `${(f / 1e6).toFixed(1)} MFLOPs`;
}

/** The centre square of an image at its own resolution, at most 96 px: small test images stay sharp (CSS upscales them pixelated). */
function thumbnail(source: CanvasImageSource, w: number, h: number): HTMLCanvasElement {
  const side = Math.min(w, h);
  const out = Math.min(side, 96);
  const c = el('canvas', { width: out, height: out });
  const g = c.getContext('2d')!;
  g.imageSmoothingQuality = 'high';
  g.drawImage(source, (w - side) / 2, (h - side) / 2, side, side, 0, 0, out, out);
  return c;
}

/** Your images and the sample gallery's: what the cards, the histograms and the budget's means are about. */
const sampled = () => items.filter((it) => it.result && (it.set === 'yours' || it.set === 'gallery'));

/** Per model, fetched once per page: its report.json, and its sample images (the Tiny-ImageNet archive is
 *  152 MB). A failed read is forgotten, so the next try reads again. */
const reports = new Map<string, Promise<Report | null>>();
const sampleSets = new Map<string, Promise<LabelledImage[]>>();
function once<T>(cache: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = read();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function loadModel(backend: BackendChoice): Promise<void> {
  stopLive($<HTMLVideoElement>('video'));
  model?.dispose();
  model = null;
  const progress = $<HTMLProgressElement>('load-progress');
  setStatus('model-status', `Loading ${shipped.title} on ${backend}…`);
  // a model without report.json is a null (kept); a failed fetch is forgotten, and the page goes on without it
  report = await once(reports, shipped.id, () => fetch(`./${shipped.id}/report.json`).then((r) => (r.ok ? r.json() : r.status === 404 ? null : Promise.reject(new Error(`HTTP ${r.status}`)))) as Promise<Report | null>).catch(() => null);
  try {
    model = await load(`./${shipped.id}/model.json`, { backend, onProgress: (p) => { progress.value = p.fraction; } });
  } catch (e) {
    setStatus('model-status', `Could not load the model: ${(e as Error).message}`);
    throw e;
  }
  const blank = el('canvas', { width: 32, height: 32 });
  blank.getContext('2d')!.fillRect(0, 0, 32, 32);
  const t0 = performance.now();
  await model.classify(blank);
  const first = performance.now() - t0;
  const t1 = performance.now();
  await model.classify(blank);
  const warm = performance.now() - t1;
  const i = model.info;
  const rows: [string, string][] = [
    ['Model', shipped.title],
    ['Classes', `${i.labels.length}: ${i.labels.slice(0, 10).join(', ')}${i.labels.length > 10 ? ', …' : ''}`],
    ['Backend', `${i.backend}${i.wasmSimd ? ' (SIMD)' : ''}${i.softwareAdapter ? ' — a software adapter (SwiftShader): far slower than WASM' : ''}`],
    ['Skipped', i.backendSkipped.map((s) => `${s.backend}: ${s.reason}`).join('; ') || 'none'],
    ['Parameters', i.params.toLocaleString()],
    ['Download', `${(i.bytes / 1024).toFixed(0)} KiB in ${i.timings.downloadMs.toFixed(0)} ms`],
    ['Cold start', `backend ${i.timings.backendInitMs.toFixed(0)} ms, warm-up ${i.backend === 'webgpu' ? '(shader compile) ' : ''}${i.timings.warmupMs.toFixed(0)} ms, first call ${first.toFixed(1)} ms`],
    ['Warm call', `${warm.toFixed(1)} ms per image`],
    ['Max iterations', i.maxIterations.join(' / ')],
    ['Max compute', fmtFlops(i.flopsMax)],
  ];
  const dl = $('model-info');
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  setStatus('model-status', `Ready on ${i.backend}.`);
  $('caps').replaceChildren(...i.maxIterations.map((t, k) => {
    const input = el('input', { type: 'number', min: '1', max: String(t), value: String(t), id: `cap${k}`, className: 'cap' });
    return el('label', {}, `stage ${k + 1} max `, input);
  }));
  if (!tradeoff.length) $('tradeoff').replaceChildren(computeDial([]));
  if (items.length) await classify(items);
  else render();
}

async function classify(list: Item[]): Promise<void> {
  if (!model) return;
  for (let i = 0; i < list.length; i += BATCH) {
    const chunk = list.slice(i, i + BATCH);
    const results = await model.classifyBatch(chunk.map((it) => it.source), budget);
    chunk.forEach((it, j) => { it.result = results[j]; });
  }
  render();
}

async function addImages(sources: { name: string; set: ItemSet; source: ImageBitmap | HTMLCanvasElement; truth?: string }[]): Promise<Item[]> {
  const added = sources.map((s) => ({ id: nextId++, ...s, thumb: thumbnail(s.source, s.source.width, s.source.height) }));
  items.push(...added);
  await classify(added);
  return added;
}

async function addFiles(files: Iterable<File>): Promise<void> {
  const decoded = [];
  for (const f of files) {
    if (!f.type.startsWith('image/')) continue;
    try {
      decoded.push({ name: f.name || 'pasted image', set: 'yours' as const, source: await createImageBitmap(f) });
    } catch {
      setStatus('model-status', `${f.name}: not an image this browser can decode`);
    }
  }
  await addImages(decoded);
}

function card(it: Item): HTMLElement {
  const r = it.result!;
  const i = model!.info;
  const top = el('ol', { className: 'top' }, ...r.topK.map((t) => el('li', {}, `${t.label} ${(100 * t.probability).toFixed(1)}%`)));
  const stages = r.iterations.map((n, k) => bar(n, r.maxIterations[k], `stage ${k + 1}: ${n} of ${i.maxIterations[k]} iterations`));
  const li = el('li', { className: 'card', tabIndex: 0 },
    it.thumb,
    el('div', {}, el('strong', {}, it.name), top, ...stages,
      bar(r.flops, r.flopsMax, `${fmtFlops(r.flops)} of ${fmtFlops(r.flopsMax)}`, 'flops'),
      el('div', { className: 'small' }, `iterations ${r.iterations.join('/')} · ${fmtFlops(r.flops)} (${((100 * r.flops) / r.flopsMax).toFixed(0)}%) · ${r.timeMs.toFixed(1)} ms/image in its batch${it.truth ? ` · truth: ${it.truth}` : ''}`)));
  li.setAttribute('aria-pressed', String(selected === it));
  const choose = () => { // only the pressed state changes: the figures are not about the selection
    selected = it;
    for (const c of $('cards').children) c.setAttribute('aria-pressed', String(c === li));
  };
  li.addEventListener('click', choose);
  li.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(); } });
  return li;
}

/** The per-call setting the page's images ran under, in words: every image is classified again when it changes. */
function setting(r: Result): string {
  const threshold = budget.haltingThreshold ?? 1 - model!.info.haltingEpsilon;
  return `threshold ${+threshold.toFixed(3)}, caps ${r.maxIterations.join('/')}`;
}

const ranked = (list: Item[]): Ranked[] => list.map((it) => ({ name: it.name, thumb: it.thumb, result: it.result!, truth: it.truth }));

/** The paper's Figure 3: the whole test set's extremes (report.json), the gallery's and yours. */
function renderRanked(): void {
  const of = (set: ItemSet) => items.filter((it) => it.set === set && it.result);
  const easiest = of('easiest');
  const hardest = of('hardest');
  const gallery = of('gallery');
  const yours = of('yours');
  const panels: HTMLElement[] = [];
  if (easiest.length && hardest.length) {
    // which images: report.json's (the shipped setting); their order and compute: this page's (the current setting)
    const byFlops = (list: Item[]) => ranked(list).sort((a, b) => a.result.flops - b.result.flops);
    const rows: RankRow[] = [
      { caption: `the ${easiest.length} cheapest at the shipped setting (report.json)`, items: byFlops(easiest) },
      { caption: `the ${hardest.length} most expensive at the shipped setting (report.json)`, items: byFlops(hardest) },
    ];
    panels.push(rankPanel('rank-test', `Whole ${report?.dataset ?? 'test set'}`, rows));
  }
  if (gallery.length) panels.push(rankPanel('rank-gallery', `Sample gallery: ${gallery.length} ${shipped.samples?.title ?? ''} images`, extremes(ranked(gallery), RANKED)));
  if (yours.length) panels.push(rankPanel('rank-yours', `Your images: ${yours.length}`, extremes(ranked(yours), RANKED)));
  const first = [...easiest, ...gallery, ...yours][0];
  $('ranked').replaceChildren(...(first
    ? [el('p', { className: 'small' }, `FLOPs and labels as classified on this page, at ${setting(first.result!)}.`), ...panels]
    : [el('p', { className: 'small' }, 'Classify your images or the sample gallery to fill this figure.')]));
}

/** The paper's Figure 2: iterations per stage over the whole test set (report.json) and over this page's images. */
function renderHistograms(): void {
  const panels: HTMLElement[] = [];
  if (report?.iteration_histograms) {
    panels.push(histogramPanel('report', `Whole ${report.dataset ?? 'test set'}, shipped setting (report.json)`, report.iteration_histograms, '#1b8a8a'));
  }
  const done = sampled();
  if (model && done.length) {
    const caps = done[0].result!.maxIterations; // every image on the page ran at the current setting
    panels.push(histogramPanel('page', `This page's ${done.length} images (yours and the gallery's) at ${setting(done[0].result!)}`, iterationCounts(done.map((it) => it.result!), caps), '#2a6df4'));
  }
  $('histograms').replaceChildren(...panels);
}

function render(): void {
  const done = sampled();
  $('cards').replaceChildren(...[...done].reverse().slice(0, CARDS_SHOWN).map(card));
  renderRanked();
  renderHistograms();
  const labelled = done.filter((it) => it.set === 'gallery');
  if (labelled.length) {
    const acc = labelled.filter((it) => it.result!.label === it.truth).length / labelled.length;
    const mean = labelled.reduce((a, it) => a + it.result!.flops, 0) / labelled.length;
    setStatus('gallery-status', `${labelled.length} ${shipped.samples!.title} images: accuracy ${(100 * acc).toFixed(1)}%, mean ${fmtFlops(mean)} (${((100 * mean) / model!.info.flopsMax).toFixed(0)}% of the maximum).`);
  }
}

/** Whether the server has this model's sample archive; the gallery button stays disabled until it does. */
async function checkDataset(): Promise<void> {
  const samples = shipped.samples;
  $('gallery-h').textContent = samples ? `Sample gallery: ${samples.title}` : 'Sample gallery';
  $<HTMLButtonElement>('gallery-run').disabled = true;
  if (!samples) {
    setStatus('gallery-status', `${shipped.title} ships no sample set: classify your own images above.`);
    return;
  }
  setStatus('gallery-status', '');
  const url = samplesUrl(samples);
  const res = await fetch(url, { method: 'HEAD' }).catch(() => null);
  const found = res?.ok ?? false;
  $<HTMLButtonElement>('gallery-run').disabled = !found;
  if (!found) {
    const looked = res && res.status === 404 ? (await fetch(url).then((r) => r.text()).catch(() => '')) : '';
    setStatus('gallery-status', `No ${samples.title} archive found${looked ? ` (${looked.replace(/^no .*? archive at /, 'looked at ')})` : ''}. Restart the demo with ${samples.env}=/path/to/${samples.shared.replace(/^datasets\//, '')} npm run demo, or classify your own images above.`);
  }
}

/** The gallery: n test images, classes in turn, and the whole test set's 8 cheapest and 8 most expensive (report.json). */
async function runGallery(): Promise<void> {
  const samples = shipped.samples;
  if (!samples) return;
  const n = Number($<HTMLInputElement>('gallery-n').value) || 200;
  setStatus('gallery-status', `Reading the local ${samples.title} archive…`);
  let all;
  try {
    all = await once(sampleSets, shipped.id, () => readSamples(samples));
  } catch (e) {
    setStatus('gallery-status', `${(e as Error).message}. Start the demo with ${samples.env}=/path/to/the/archive.`);
    return;
  }
  const at = (set: ItemSet, indices: number[] = []) => indices.slice(0, RANKED).filter((k) => k < all.length).map((k) => ({ ...all[k], set }));
  const picked = [
    ...classesInTurn(all, n).map((p) => ({ ...p, set: 'gallery' as const })),
    ...at('easiest', report?.easiest_test_indices),
    ...at('hardest', report?.hardest_test_indices),
  ];
  items = items.filter((it) => it.set === 'yours'); // a new gallery run replaces the last one
  if (selected && !items.includes(selected)) selected = null;
  const sources = await Promise.all(picked.map(async (p) => ({ name: p.name.split('/').slice(-2).join('/'), set: p.set, truth: p.label, source: await createImageBitmap(p.blob) })));
  setStatus('gallery-status', `Classifying ${sources.length} images…`);
  await addImages(sources);
}

function degrade(src: HTMLCanvasElement, kind: string, severity: number): HTMLCanvasElement {
  const c = el('canvas', { width: src.width, height: src.height });
  const ctx = c.getContext('2d')!;
  if (kind === 'blur') ctx.filter = `blur(${(severity * src.width) / 16}px)`;
  ctx.drawImage(src, 0, 0);
  ctx.filter = 'none';
  if (kind === 'noise' && severity > 0) {
    const img = ctx.getImageData(0, 0, c.width, c.height);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
    for (let i = 0; i < img.data.length; i++) if (i % 4 !== 3) img.data[i] += rand() * 255 * severity;
    ctx.putImageData(img, 0, 0);
  }
  if (kind === 'occlusion' && severity > 0) {
    const s = Math.sqrt(severity) * c.width * 0.8;
    ctx.fillStyle = '#808080';
    ctx.fillRect((c.width - s) / 2, (c.height - s) / 2, s, s);
  }
  return c;
}

async function runDial(): Promise<void> {
  const base = selected ?? sampled().at(-1);
  if (!model || !base) {
    $('dial').replaceChildren(el('p', {}, 'Add an image first.'));
    return;
  }
  const kind = $<HTMLSelectElement>('dial-kind').value;
  const src = el('canvas', { width: base.source.width, height: base.source.height });
  src.getContext('2d')!.drawImage(base.source, 0, 0);
  const levels = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const variants = levels.map((s) => degrade(src, kind, s));
  const results = await model.classifyBatch(variants, budget);
  const figs = results.map((r, i) => {
    const f = el('figure', { className: 'dial-point' }, thumbnail(variants[i], variants[i].width, variants[i].height),
      el('figcaption', {}, `${kind} ${levels[i]}: ${r.label} ${(100 * r.probability).toFixed(0)}%, ${fmtFlops(r.flops)}`));
    f.dataset.flops = String(r.flops);
    return f;
  });
  const plot = chart([
    { name: 'compute (MFLOPs)', color: '#e07b00', scale: 'mflops', points: results.map((r, i) => [levels[i], r.flops / 1e6]) },
    { name: 'confidence (%)', color: '#2a6df4', scale: 'pct', points: results.map((r, i) => [levels[i], 100 * r.probability]) },
  ], { label: `${kind} severity` }, [{ scale: 'mflops', label: 'MFLOPs' }, { scale: 'pct', label: 'confidence %' }]);
  $('dial').replaceChildren(...figs, plot);
}

async function runBudget(): Promise<void> {
  if (!model) return;
  const threshold = Number($<HTMLInputElement>('threshold').value);
  const caps = model.info.maxIterations.map((t, k) => Math.min(t, Math.max(1, Number($<HTMLInputElement>(`cap${k}`).value) || t)));
  budget = { haltingThreshold: threshold, maxIterations: caps };
  await classify(items);
  const done = sampled();
  if (!done.length) return;
  const labelled = done.filter((it) => it.set === 'gallery');
  tradeoff.push({
    threshold,
    caps,
    meanFlops: done.reduce((a, it) => a + it.result!.flops, 0) / done.length,
    accuracy: labelled.length ? labelled.filter((it) => it.result!.label === it.truth).length / labelled.length : null,
  });
  const withAcc = tradeoff.filter((t) => t.accuracy !== null);
  const table = el('table', {}, el('tr', {}, el('th', {}, 'threshold'), el('th', {}, 'caps'), el('th', {}, 'mean MFLOPs'), el('th', {}, 'accuracy')),
    ...tradeoff.map((t) => el('tr', { className: 'tradeoff-row' }, el('td', {}, String(t.threshold)), el('td', {}, t.caps.join('/')),
      el('td', {}, (t.meanFlops / 1e6).toFixed(1)), el('td', {}, t.accuracy === null ? 'n/a (no labels)' : `${(100 * t.accuracy).toFixed(1)}%`))));
  $('tradeoff').replaceChildren(table, computeDial(withAcc.map((t) => [t.meanFlops / 1e6, 100 * t.accuracy!])));
}

let live: VideoLoop | null = null;

/** Live webcam: the SDK's video loop, holding 100 ms per frame by lowering the compute per call when needed. */
function startLive(video: HTMLVideoElement): void {
  live?.stop();
  for (const id of ['live', 'webcam-stop', 'snap']) $(id).hidden = false;
  $('webcam').hidden = true;
  live = classifyVideo(model!, video, {
    topK: 5,
    frameBudgetMs: 100,
    onResult: (r) => {
      setStatus('live-label', `${r.label} ${(100 * r.probability).toFixed(0)}%`);
      setStatus('live-ms', `${r.callMs.toFixed(0)} ms per frame · ${fmtFlops(r.flops)} · compute level ${r.level}${r.level ? ' (lowered to hold 100 ms)' : ''}`);
      $('live-top').replaceChildren(...r.topK.map((t) => el('li', {}, `${t.label} ${(100 * t.probability).toFixed(1)}%`)));
      $('live-stages').replaceChildren(...r.iterations.map((n, k) => bar(n, model!.info.maxIterations[k], `stage ${k + 1}: ${n} of ${model!.info.maxIterations[k]} iterations`)));
    },
    onError: (e) => setStatus('live-ms', `frame failed: ${(e as Error).message}`),
  });
}

function stopLive(video: HTMLVideoElement): void {
  live?.stop();
  live = null;
  (video.srcObject as MediaStream | null)?.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  for (const id of ['live', 'webcam-stop', 'snap']) $(id).hidden = true;
  $('webcam').hidden = false;
}

/** The static networks' points in the compute dial, one colour each (greys and browns, apart from IamNN's). */
const STATIC_COLOURS = ['#333', '#8a8a8a', '#7a4a1e', '#b08850'];

/**
 * The compute dial: accuracy against mean MFLOPs for every per-call setting measured on the full test set
 * (report.json, shipped beside the model), the static networks beside them, and this page's own runs, the
 * newest highlighted.
 */
function computeDial(own: [number, number][]): HTMLElement {
  const rows = report?.rows ?? [];
  const pt = (r: ReportRow): [number, number] => [r.flops_mean / 1e6, 100 * r.accuracy];
  // one point per static network, its longest run: the report keeps superseded shorter runs too, at the same FLOPs
  const longest = new Map<string, ReportRow>();
  for (const r of rows.filter((r) => /^(Unshared baseline|Static ResNet)/.test(r.name))) {
    const kind = r.name.split(' (')[0] + (r.name.endsWith('mirror vote on every image') ? ', mirrored' : '');
    if ((r.epochs ?? 0) >= (longest.get(kind)?.epochs ?? -1)) longest.set(kind, r);
  }
  const series: Series[] = [
    { name: 'IamNN, halting thresholds (test set)', color: '#2a6df4', scale: 'acc', points: rows.filter((r) => /^IamNN (threshold|\(shipped)/.test(r.name)).map(pt).sort((a, b) => a[0] - b[0]) },
    { name: 'IamNN, mirror vote gates (test set)', color: '#1a9e5c', scale: 'acc', points: rows.filter((r) => /^IamNN (mirror vote|\(shipped)/.test(r.name)).map(pt).sort((a, b) => a[0] - b[0]) },
    { name: 'IamNN, iteration caps (test set)', color: '#e07b00', scale: 'acc', scatter: true, points: rows.filter((r) => r.caps).map(pt) },
    // each static network its own legend entry: a reader must tell ResNet-20 from the unshared baseline
    ...[...longest].map(([kind, r], i): Series => ({ name: kind.replace(/^(?:Static )?(.*?)(, mirrored)?$/, '$1 (static$2)'), color: STATIC_COLOURS[i % STATIC_COLOURS.length], scale: 'acc', scatter: true, points: [pt(r)] })),
    { name: 'your runs (newest large)', color: '#c0186b', scale: 'acc', scatter: true, points: own.slice(0, -1) },
    { name: 'current setting', color: '#c0186b', scale: 'acc', scatter: true, big: true, points: own.slice(-1) },
  ].filter((s) => s.points.length);
  return chart(series, { label: 'mean MFLOPs per image' }, [{ scale: 'acc', label: 'top-1 accuracy %' }]);
}

function wire(): void {
  const busy = (fn: () => Promise<void>) => async () => {
    document.body.setAttribute('aria-busy', 'true');
    try { await fn(); } catch (e) { setStatus('model-status', (e as Error).message); } finally { document.body.removeAttribute('aria-busy'); }
  };
  $<HTMLInputElement>('files').addEventListener('change', busy(async () => addFiles($<HTMLInputElement>('files').files ?? [])));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); void busy(() => addFiles(e.dataTransfer?.files ?? []))(); });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('files').click(); } });
  document.addEventListener('paste', (e) => { void busy(() => addFiles(Array.from(e.clipboardData?.files ?? [])))(); });
  $('clear').addEventListener('click', () => { items = []; selected = null; tradeoff.length = 0; $('tradeoff').replaceChildren(computeDial([])); render(); });
  const backend = () => $<HTMLSelectElement>('backend').value as BackendChoice;
  $('backend').addEventListener('change', busy(() => loadModel(backend())));
  $('model').addEventListener('change', busy(() => switchModel($<HTMLSelectElement>('model').value, backend())));
  $('gallery-run').addEventListener('click', busy(runGallery));
  $('dial-run').addEventListener('click', busy(runDial));
  $('budget-run').addEventListener('click', busy(runBudget));
  const th = $<HTMLInputElement>('threshold');
  const showTh = () => { $('threshold-out').textContent = th.value; };
  th.addEventListener('input', showTh);
  showTh();
  const video = $<HTMLVideoElement>('video');
  $('webcam').addEventListener('click', busy(async () => {
    if (!model) return;
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    await video.play();
    startLive(video);
  }));
  $('webcam-stop').addEventListener('click', () => stopLive(video));
  $('snap').addEventListener('click', busy(async () => {
    const frame = el('canvas', { width: video.videoWidth, height: video.videoHeight });
    frame.getContext('2d')!.drawImage(video, 0, 0);
    await addImages([{ name: `webcam ${new Date().toLocaleTimeString()}`, set: 'yours', source: frame }]);
  }));
}

/** Another shipped model: your images stay and are classified again; the gallery, its labels and the budget's runs were the other model's. */
async function switchModel(id: string, backend: BackendChoice): Promise<void> {
  shipped = MODELS.find((m) => m.id === id) ?? MODELS[0];
  $<HTMLSelectElement>('model').value = shipped.id;
  items = items.filter((it) => it.set === 'yours');
  if (selected && !items.includes(selected)) selected = null;
  tradeoff.length = 0;
  budget = {};
  $('tradeoff').replaceChildren();
  $('dial').replaceChildren();
  void checkDataset();
  await loadModel(backend);
  // the budget control starts at the new model's own threshold (its caps were reset by loadModel)
  const th = $<HTMLInputElement>('threshold');
  th.value = String(1 - model!.info.haltingEpsilon);
  th.dispatchEvent(new Event('input'));
}

$('model').replaceChildren(...MODELS.map((m) => el('option', { value: m.id }, m.title)));
wire();
const params = new URLSearchParams(location.search);
const initial = (params.get('backend') ?? 'auto') as BackendChoice;
$<HTMLSelectElement>('backend').value = initial;
switchModel(params.get('model') ?? MODELS[0].id, initial).then(
  () => { (window as unknown as { demo: { ready: boolean } }).demo.ready = true; },
  (e: Error) => setStatus('model-status', `Could not start: ${e.message}`),
);
