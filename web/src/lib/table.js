// The table view of a map: the features drawn now, as HTML tables (one per
// layer), refreshed as the map moves. Keyboard and screen-reader users get
// the same content as the map.
import { h, replace } from './dom.js';
import { fmtValue, t, tr } from './i18n.js';
import { drawnFeatures } from './map.js';

const MAX_ROWS = 500;

/** Columns of a layer's table: the catalogue's attributes that the features carry, in catalogue order. */
function columns(features, catLayer) {
  const present = new Set();
  for (const f of features) for (const k of Object.keys(f.properties ?? {})) present.add(k);
  const cols = [];
  for (const a of catLayer?.attributes ?? []) {
    if (present.has(a.name)) {
      cols.push({ name: a.name, title: tr(a.title), attr: a });
      present.delete(a.name);
    }
  }
  for (const k of present) cols.push({ name: k, title: k === 'count' ? '№' : k, attr: {} });
  return cols;
}

/** Renders `features` ({layer, id, properties}) grouped by layer into `container`. */
export function renderTables(container, features, cat, { caption = null, onRow = null } = {}) {
  const byLayer = new Map();
  for (const f of features) {
    if (!byLayer.has(f.layer)) byLayer.set(f.layer, []);
    byLayer.get(f.layer).push(f);
  }
  const parts = [h('p', { class: 'table-total', 'aria-live': 'polite' }, caption ?? t('table.caption', { n: features.length }))];
  if (!features.length) parts.push(h('p', {}, t('table.empty')));
  for (const [layer, list] of byLayer) {
    const catLayer = cat.get(layer);
    const cols = columns(list, catLayer);
    const rows = list.slice(0, MAX_ROWS);
    parts.push(h('table', { class: 'data-table', dataset: { layer } },
      h('caption', {}, `${tr(catLayer?.title) || layer} (${list.length})`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'id'), cols.map((c) => h('th', { scope: 'col' }, c.title)))),
      h('tbody', {}, rows.map((f) => {
        const idCell = onRow
          ? h('td', {}, h('button', { type: 'button', class: 'link-button', on: { click: () => onRow(f) } }, String(f.id ?? '')))
          : h('td', {}, String(f.id ?? ''));
        return h('tr', { dataset: { layer, id: String(f.id ?? '') } }, idCell,
          cols.map((c) => h('td', {}, fmtValue(f.properties?.[c.name], c.attr))));
      }))));
    if (list.length > MAX_ROWS) parts.push(h('p', {}, t('table.more', { n: MAX_ROWS })));
  }
  replace(container, ...parts);
}

/**
 * A toggle button and a panel listing what the map draws. Returns
 * {button, panel, refresh}; the panel follows the map while it is open.
 */
export function tableView(map, cat, { onRow = null, features = null } = {}) {
  const panel = h('section', { class: 'panel table-panel', id: 'table-view', hidden: true, 'aria-label': t('table.show'), tabindex: '-1' });
  const button = h('button', { type: 'button', class: 'table-toggle', 'aria-expanded': 'false', 'aria-controls': 'table-view' }, t('table.show'));
  const refresh = () => {
    if (panel.hidden) return;
    const list = features ? features() : drawnFeatures(map);
    renderTables(panel, list, cat, { onRow });
  };
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    button.textContent = panel.hidden ? t('table.show') : t('table.hide');
    document.body.classList.toggle('with-table', !panel.hidden);
    if (!panel.hidden) {
      map.resize();
      map.once('idle', refresh);
      map.triggerRepaint();
      panel.focus();
    } else {
      map.resize();
    }
  });
  map.on('idle', refresh);
  return { button, panel, refresh };
}
