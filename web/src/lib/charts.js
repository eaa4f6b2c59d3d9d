// Simple SVG bar charts drawn with DOM APIs (no chart library): horizontal
// bars for counts by a key, grouped columns for a weekly trend. Each chart
// carries its numbers as text too (labels and <title>), for screen readers.
import { h } from './dom.js';
import { fmtNumber } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Horizontal bars: entries [{key, label, value}]. */
export function barChart(entries, { title, key = 'chart' } = {}) {
  const rowH = 22;
  const labelW = 170;
  const width = 460;
  const max = Math.max(1, ...entries.map((e) => e.value));
  const root = svg('svg', { class: 'bars', viewBox: `0 0 ${width} ${Math.max(rowH, entries.length * rowH)}`, role: 'img', 'aria-label': title });
  entries.forEach((e, i) => {
    const y = i * rowH;
    const w = Math.max(1, ((width - labelW - 50) * e.value) / max);
    root.append(
      svg('text', { x: 0, y: y + 15 }, e.label.length > 26 ? `${e.label.slice(0, 25)}…` : e.label),
      svg('rect', { class: 'bar', x: labelW, y: y + 3, width: w, height: rowH - 6 }, svg('title', {}, `${e.label}: ${e.value}`)),
      svg('text', { x: labelW + w + 4, y: y + 15, 'data-key': `${key}.${e.key}` }, fmtNumber(e.value)));
  });
  return h('figure', { class: 'chart', dataset: { chart: key } }, h('figcaption', {}, title), root);
}

/** Weekly columns of two series: rows [{label, a, b}]. */
export function columnChart(rows, { title, aLabel, bLabel }) {
  const height = 140;
  const width = 460;
  const n = Math.max(1, rows.length);
  const step = width / n;
  const max = Math.max(1, ...rows.flatMap((r) => [r.a, r.b]));
  const root = svg('svg', { class: 'bars', viewBox: `0 0 ${width} ${height + 18}`, role: 'img', 'aria-label': title });
  rows.forEach((r, i) => {
    const x = i * step;
    const bw = Math.max(1, step / 2 - 1);
    const ha = (height * r.a) / max;
    const hb = (height * r.b) / max;
    root.append(
      svg('rect', { class: 'bar', x, y: height - ha, width: bw, height: ha }, svg('title', {}, `${r.label}: ${aLabel} ${r.a}`)),
      svg('rect', { class: 'bar-alt', x: x + bw, y: height - hb, width: bw, height: hb }, svg('title', {}, `${r.label}: ${bLabel} ${r.b}`)));
  });
  if (rows.length) {
    root.append(svg('text', { x: 0, y: height + 14 }, rows[0].label), svg('text', { x: width, y: height + 14, 'text-anchor': 'end' }, rows[rows.length - 1].label));
  }
  const sw = (cls) => { const s = h('span', { class: 'swatch' }); s.style.setProperty('--swatch', cls); return s; };
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), root,
    h('div', { class: 'chart-legend' }, h('span', {}, sw('#0b5cad'), ` ${aLabel}`), h('span', {}, sw('#e08a1e'), ` ${bLabel}`)));
}
