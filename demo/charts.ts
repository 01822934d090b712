/** Tiny DOM/SVG charts: no innerHTML, every label set through textContent. */

const SVG = 'http://www.w3.org/2000/svg';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
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

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

/** A line (or scatter) chart of series over a shared x axis; each series scaled to its own range. */
export function lineChart(series: Series[], xLabel: string, opts: { scatter?: boolean } = {}): SVGSVGElement {
  const W = 420, H = 200, P = 34;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': series.map((s) => s.name).join(' and ') + ` against ${xLabel}` });
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const sx = (x: number) => P + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * P);
  root.append(svg('line', { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: '#888' }));
  const xl = svg('text', { x: W / 2, y: H - 6, 'text-anchor': 'middle' });
  xl.textContent = xLabel;
  root.append(xl);
  series.forEach((s, k) => {
    const ys = s.points.map((p) => p[1]);
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const sy = (y: number) => H - P - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * P);
    if (!opts.scatter) root.append(svg('polyline', { points: s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2 }));
    for (const [x, y] of s.points) root.append(svg('circle', { cx: sx(x), cy: sy(y), r: 3.5, fill: s.color }));
    const legend = svg('text', { x: P + k * 190, y: 14, fill: s.color });
    legend.textContent = `${s.name} (${y0.toPrecision(3)}–${y1.toPrecision(3)})`;
    root.append(legend);
  });
  return root;
}
