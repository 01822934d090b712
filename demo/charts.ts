/** The demo's DOM pieces (bars, histograms) and its charts (uPlot): no innerHTML, every label set through textContent. */
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

/** Histogram of iteration counts 1..max for one stage; the maximum's bar is outlined. */
export function histogram(title: string, counts: number[]): HTMLElement {
  const top = Math.max(1, ...counts);
  const bars = el('div', { className: 'bars' });
  counts.forEach((c, i) => {
    const b = el('div', { className: `hist-bar${i === counts.length - 1 ? ' max' : ''}`, title: `${i + 1} iterations: ${c} images` });
    b.style.height = `${(100 * c) / top}%`;
    b.dataset.count = String(c);
    bars.append(b);
  });
  const axis = el('div', { className: 'axis' }, el('span', {}, '1'), el('span', {}, `${counts.length} = max`));
  return el('figure', { className: 'hist' }, bars, axis, el('figcaption', {}, title));
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
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const data: uPlot.AlignedData = [xs, ...series.map((s) => {
    const at = new Map(s.points.map(([px, py]) => [px, py]));
    return xs.map((v) => at.get(v) ?? null);
  })];
  const host = el('div', { className: 'chart' });
  const scales: uPlot.Scales = { x: { time: false } };
  for (const a of axes) scales[a.scale] = { auto: true };
  const opts: uPlot.Options = {
    width: Math.min(width, Math.max(280, (globalThis.innerWidth ?? width) - 60)),
    height: 220,
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
    cursor: { drag: { x: false, y: false } },
    legend: { live: false }, // names and colours only: a static page has no cursor to read values at
  };
  const plot = new uPlot(opts, data, host);
  // follow the page's width (a phone, a rotated tablet): uPlot draws at a fixed size, so resize it with its box
  new ResizeObserver(() => {
    const w = Math.min(width, host.clientWidth);
    if (w > 0 && Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height: 220 });
  }).observe(host);
  return host;
}
