/**
 * The paper's two figures for the images on this page: Figure 3 (images ranked from fewest to most FLOPs,
 * each with its compute, label and right/wrong mark) and Figure 2 (iterations per stage as histograms).
 */
import type { Result } from 'iamnn';
import { bar, el, histogram } from './charts';

export interface Ranked {
  name: string;
  /** The image at its own size, at most 96 px a side (CIFAR-10's 32 px stay 32 px: drawn pixelated, upscaled). */
  thumb: HTMLCanvasElement;
  result: Result;
  /** The true label, for test images. */
  truth?: string;
}

/** A row of tiles under a caption (e.g. 'the 8 cheapest'). */
export interface RankRow {
  caption: string;
  items: Ranked[];
}

const mflops = (f: number) => (f / 1e6).toFixed(1);

function tile(it: Ranked): HTMLElement {
  const r = it.result;
  const image = el('canvas', { width: it.thumb.width, height: it.thumb.height });
  image.getContext('2d')!.drawImage(it.thumb, 0, 0);
  const right = it.truth === undefined ? null : r.label === it.truth;
  const mark = el('span', { className: `mark ${right ? 'ok' : 'bad'}` }, right ? '✓' : '✗');
  mark.setAttribute('aria-label', right ? 'correct' : 'wrong');
  const pct = (100 * r.flops) / r.flopsMax;
  const f = el('figure', { className: 'rank-tile', title: `${it.name}: ${r.label}, ${mflops(r.flops)} MFLOPs, iterations ${r.iterations.join('/')}` },
    el('div', { className: 'rank-image' }, image, ...(right === null ? [] : [mark])),
    el('figcaption', {},
      el('div', { className: 'rank-label' }, r.label),
      el('div', { className: 'small' }, right === false ? `truth: ${it.truth}` : `${(100 * r.probability).toFixed(0)}% sure`),
      bar(r.flops, r.flopsMax, `${mflops(r.flops)} of ${mflops(r.flopsMax)} MFLOPs`, 'flops'),
      el('div', { className: 'small' }, `${mflops(r.flops)} MFLOPs`, el('br'), `${pct.toFixed(0)}% of max`)));
  f.dataset.flops = String(r.flops);
  if (right !== null) f.dataset.correct = String(right);
  return f;
}

/**
 * A set's extremes, like the paper's Figure 3: the `n` cheapest and the `n` most expensive images, each row
 * from fewest to most FLOPs; a set of at most 2n images is shown whole, in one ranked row.
 */
export function extremes(list: Ranked[], n = 8): RankRow[] {
  const ordered = [...list].sort((a, b) => a.result.flops - b.result.flops);
  if (ordered.length <= 2 * n) return [{ caption: `all ${ordered.length}, fewest to most FLOPs`, items: ordered }];
  return [
    { caption: `the ${n} cheapest of ${ordered.length}`, items: ordered.slice(0, n) },
    { caption: `the ${n} most expensive of ${ordered.length}`, items: ordered.slice(-n) },
  ];
}

/** One titled panel of Figure 3. */
export function rankPanel(id: string, title: string, rows: RankRow[]): HTMLElement {
  return el('div', { className: 'rank-panel', id },
    el('h3', {}, title),
    ...rows.map((row) => el('div', { className: 'rank-row' }, el('p', { className: 'small' }, row.caption), el('div', { className: 'rank-tiles', role: 'list' }, ...row.items.map((it) => {
      const t = tile(it);
      t.setAttribute('role', 'listitem');
      return t;
    })))));
}

/** Figure 2 for one set of images: a histogram per stage, under a title. */
export function histogramPanel(source: string, title: string, perStage: number[][], colour: string): HTMLElement {
  const panel = el('div', { className: 'hist-panel' }, el('h3', {}, title));
  panel.dataset.source = source;
  panel.append(el('div', { className: 'histograms' }, ...perStage.map((counts, k) => {
    const fig = el('figure', { className: 'hist' }, el('figcaption', {}, `stage ${k + 1}`), histogram(counts, colour));
    fig.dataset.total = String(counts.reduce((a, c) => a + c, 0));
    return fig;
  })));
  return panel;
}

/** Iteration counts per stage (index i holds how many images ran i + 1 iterations) over some results. */
export function iterationCounts(results: Result[], caps: number[]): number[][] {
  return caps.map((cap, k) => {
    const counts = new Array<number>(cap).fill(0);
    for (const r of results) counts[r.iterations[k] - 1]++;
    return counts;
  });
}
