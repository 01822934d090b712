/** The demo's DOM pieces (meters) and its charts (uPlot): no innerHTML, every label set through textContent. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** A horizontal bar showing value / max, with an accessible label. */
export function bar(value: number, max: number, label: string, kind = ''): HTMLElement {
  const b = el('div', { className: `bar ${kind}`.trim(), title: label });
  b.setAttribute('role', 'meter');
  b.setAttribute('aria-label', label);
  b.setAttribute('aria-valuenow', String(value));
  b.setAttribute('aria-valuemin', '0');
  b.setAttribute('aria-valuemax', String(max));
  const fill = el('span');
  fill.style.width = `${Math.min(100, (100 * value) / max)}%`;
  b.append(fill);
  return b;
}

/**
 * Line and scatter charts drawn by uPlot (a small, fast, well-kept canvas charting library: ~50 KB, no
 * dependencies, real axes with ticks and labels, a legend in each series' colour). Series share the x axis;
 * each y scale named in `axes` gets its own labelled axis (left, then right).
 */
export interface Series {
  name: string;
  color: string;
  /** Which y axis (scale) the series is drawn against. */
  scale: string;
  points: [number, number][];
  /** Points only, no line (a scatter). */
  scatter?: boolean;
  /** Draw its points larger (the highlighted setting). */
  big?: boolean;
}

export function chart(series: Series[], x: { label: string }, axes: { scale: string; label: string }[], width = 520): HTMLElement {
  // uPlot's mode 1 shares one x array: merge every series' x values, each series null where it has no point
  // (so a series holds one point per x: callers pass distinct x values)
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const data: uPlot.AlignedData = [xs, ...series.map((s) => {
    const at = new Map(s.points.map(([px, py]) => [px, py]));
    return xs.map((v) => at.get(v) ?? null);
  })];
  const scales: uPlot.Scales = { x: { time: false, range: padded } };
  for (const a of axes) scales[a.scale] = { auto: true, range: padded };
  return plot({
    scales,
    axes: [
      { label: x.label, stroke: '#333' },
      ...axes.map((a, i) => ({ scale: a.scale, label: a.label, side: i === 0 ? 3 : 1, stroke: series.find((s) => s.scale === a.scale)?.color ?? '#333', grid: { show: i === 0 } })),
    ],
    series: [
      { label: x.label },
      ...series.map((s) => ({
        label: s.name, scale: s.scale, stroke: s.color, width: s.scatter ? 0 : 2, spanGaps: true,
        paths: s.scatter ? () => null : undefined,
        points: { show: true, size: s.big ? 14 : 7, stroke: s.color, fill: s.color },
      })),
    ],
  }, data, width);
}

/** A scale's range with room around the data, so the outermost (and the large, highlighted) points are drawn whole. */
function padded(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const room = 0.08 * Math.max(max - min, 1);
  return [min - room, max + room];
}

const CAP_COLOUR = '#c0186b';

/**
 * One stage's histogram of iterations (the paper's Figure 2): x = iterations 1..cap, y = number of images,
 * as uPlot bars. The bar at the cap is its own series in its own colour (images that never halted on their
 * own), so the legend says what the cap is.
 */
export function histogram(counts: number[], colour: string): HTMLElement {
  const cap = counts.length;
  const xs = counts.map((_, i) => i + 1);
  const bars = uPlot.paths.bars!({ size: [0.7, 48], align: 0 });
  const series = (label: string, stroke: string): uPlot.Series => ({ label, stroke, fill: stroke, width: 0, paths: bars, points: { show: false } });
  const host = plot({
    scales: {
      x: { time: false, range: [0.4, cap + 0.6] },
      y: { range: (_u, _min, max) => [0, uPlot.rangeNum(0, Math.max(1, max), 0.1, true)[1]] },
    },
    axes: [
      // integer ticks only: every iteration count while they fit, then every 2nd, 3rd, ...
      { label: `iterations (cap ${cap})`, stroke: '#333', grid: { show: false }, space: 22, incrs: [1, 2, 3, 4, 5, 10, 20, 50, 100] },
      { label: 'images', stroke: '#333', size: 56, space: 24, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000] },
    ],
    series: [{ label: 'iterations' }, series('images', colour), series(`stopped at the cap (${cap})`, CAP_COLOUR)],
  }, [xs, counts.map((c, i) => (i < cap - 1 ? c : null)), counts.map((c, i) => (i === cap - 1 ? c : null))], 360, 190);
  host.dataset.counts = JSON.stringify(counts);
  return host;
}

/**
 * A uPlot chart in a box of its own that follows the page's width (a phone, a rotated tablet): uPlot draws at
 * a fixed size, so it is resized with its box, up to `width`. Legends show names and colours only: a static
 * page has no cursor to read values at.
 */
function plot(opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData, width: number, height = 220): HTMLElement {
  const host = el('div', { className: 'chart' });
  const u = new uPlot({
    ...opts,
    width: Math.min(width, Math.max(280, (globalThis.innerWidth ?? width) - 60)),
    height,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
  }, data, host);
  new ResizeObserver(() => {
    const w = Math.min(width, host.clientWidth);
    if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
  }).observe(host);
  return host;
}
