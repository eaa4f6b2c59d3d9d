// Page: the investor map (`/invest`, English first). Investment sites with
// filters (area, utilities, type, distance to a main road, the railway and
// the map centre — GET /api/analytics/investment_search), vacant premises
// and free land plots from the tiles, a site card, and a printable site
// passport (`/invest?passport=<id>`).
import { api, showError } from '../lib/api.js';
import { h, nextId, replace } from '../lib/dom.js';
import { fmtDate, fmtValue, lang, t, valueLabel } from '../lib/i18n.js';
import { layerSwitcher, syncSwitcher } from '../lib/legend.js';
import { catalogue, createMap, fitGeometry, layerOf } from '../lib/map.js';
import { applyLayers, bindPermalink, readHash } from '../lib/permalink.js';
import { attributeList, enablePopups } from '../lib/popup.js';
import { shell } from '../lib/shell.js';
import { tableView } from '../lib/table.js';

const LAYERS = ['investment_sites', 'communal_property', 'land_plots'];
const SITE_TYPES = ['greenfield', 'brownfield', 'premises', 'ppp'];
const UTILITIES = ['gas', 'water', 'sewer', 'heating'];
// What investors look for in the other two layers.
const LAYER_FILTERS = {
  communal_property: ['==', ['get', 'use_status'], 'vacant'],
  land_plots: ['in', ['get', 'use_status'], ['literal', ['free', 'offered_for_building']]],
};

function andFilter(a, b) {
  if (!a) return b;
  if (!b) return a;
  return ['all', a, b];
}

/** Restricts a registry layer's style layers to `filter`, keeping their own filters. */
function restrict(map, id, filter, original) {
  for (const l of map.getStyle().layers) {
    if (layerOf(l) !== id) continue;
    if (!original.has(l.id)) original.set(l.id, l.filter ?? null);
    map.setFilter(l.id, andFilter(original.get(l.id), filter));
  }
}

function siteTitle(p) {
  return (lang() === 'en' ? p.title_en || p.title_uk : p.title_uk || p.title_en) ?? `#${p.id}`;
}

function numberField(name, label) {
  const id = nextId('f');
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, type: 'number', min: '0', step: 'any', inputmode: 'decimal' }));
}

function filterForm(onSearch) {
  const typeId = nextId('f');
  const form = h('form', { class: 'panel filters', 'aria-labelledby': 'filters-heading' },
    h('h2', { id: 'filters-heading' }, t('invest.filters')),
    numberField('min_area_ha', t('invest.min_area')),
    numberField('max_area_ha', t('invest.max_area')),
    h('div', { class: 'field' }, h('label', { for: typeId }, t('invest.site_type')),
      h('select', { id: typeId, name: 'site_type' }, h('option', { value: '' }, t('invest.any')), SITE_TYPES.map((s) => h('option', { value: s }, valueLabel(s))))),
    h('fieldset', { class: 'field' }, h('legend', {}, t('invest.utilities')),
      UTILITIES.map((u) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: u, value: 'true' }), valueLabel(u)))),
    numberField('min_premises_m2', t('invest.min_premises')),
    numberField('max_premises_m2', t('invest.max_premises')),
    numberField('max_road_m', t('invest.max_road')),
    numberField('max_rail_m', t('invest.max_rail')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'near_centre' }), lang() === 'en' ? 'Nearest to the map centre first' : 'Спершу найближчі до центру мапи'),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('invest.apply')), h('button', { type: 'reset', class: 'secondary' }, t('invest.reset'))));
  form.addEventListener('submit', (e) => { e.preventDefault(); onSearch(new FormData(form)); });
  form.addEventListener('reset', () => setTimeout(() => onSearch(new FormData(form)), 0));
  return form;
}

function siteCard(row, cat) {
  const layer = cat.get('investment_sites');
  return h('article', { class: 'card site-card', dataset: { site: String(row.id) }, tabindex: '-1', 'aria-labelledby': `site-${row.id}` },
    h('h3', { id: `site-${row.id}` }, siteTitle(row)),
    attributeList(row, layer, { skip: ['title_uk', 'title_en'], extra: [[t('invest.road_m'), row.road_m], [t('invest.rail_m'), row.rail_m]] }),
    h('p', {}, h('a', { class: 'button', href: `/invest?passport=${encodeURIComponent(row.id)}` }, t('invest.passport'))));
}

async function passport(id) {
  const { sidebar, mapEl } = shell({ page: 'invest', defaultLang: 'en', title: t('invest.passport') });
  const cat = await catalogue();
  const feature = await api(`/ogc/collections/investment_sites/items/${encodeURIComponent(id)}`);
  const p = { id: feature.id, ...feature.properties };
  // Distances come with the search; ask for this site's status so it is found.
  let extra = {};
  try {
    const res = await api('/api/analytics/investment_search', { query: { status: p.status, limit: 1000 } });
    extra = res.rows.find((r) => String(r.id) === String(p.id)) ?? {};
  } catch {
    extra = {};
  }
  const map = await createMap(mapEl, { only: ['investment_sites'] });
  window.geoportal = { map };
  fitGeometry(map, feature.geometry, { animate: false, maxZoom: 17 });
  map.addSource('site', { type: 'geojson', data: feature });
  map.addLayer({ id: 'site-outline', type: 'line', source: 'site', paint: { 'line-color': '#d7301f', 'line-width': 4 } });
  const layer = cat.get('investment_sites');
  replace(sidebar, h('article', { class: 'passport card', dataset: { site: String(p.id) } },
    h('h2', {}, `${t('invest.passport')}: ${siteTitle(p)}`),
    attributeList(p, layer, { skip: ['title_uk', 'title_en'], extra: [[t('invest.road_m'), extra.road_m], [t('invest.rail_m'), extra.rail_m]] }),
    h('p', { class: 'hint' }, t('invest.generated', { date: fmtDate(new Date().toISOString()) })),
    h('div', { class: 'toolbar no-print' },
      h('button', { type: 'button', on: { click: () => window.print() } }, t('invest.print')),
      h('a', { class: 'button secondary', href: '/invest' }, t('invest.back')))));
  // The passport prints the side panel and the map together.
  document.body.classList.add('passport-view');
  await new Promise((r) => map.once('idle', r));
  document.body.dataset.ready = 'true';
}

async function main() {
  const params = new URLSearchParams(location.search);
  if (params.get('passport')) {
    await passport(params.get('passport'));
    return;
  }
  const { sidebar, mapEl, layout } = shell({ page: 'invest', defaultLang: 'en', title: t('invest.title') });
  const hash = readHash();
  const [cat, map] = await Promise.all([catalogue(), createMap(mapEl, { view: hash.view, only: LAYERS, generic: false })]);
  window.geoportal = { map };
  applyLayers(map, hash.layers ?? LAYERS);
  const original = new Map();
  for (const [id, f] of Object.entries(LAYER_FILTERS)) restrict(map, id, f, original);
  const writeHash = bindPermalink(map);
  enablePopups(map, cat);

  const results = h('section', { class: 'panel results', 'aria-live': 'polite' });
  const card = h('div', { class: 'site-card-slot' });
  let rows = [];
  const showCard = (row) => {
    replace(card, siteCard(row, cat));
    card.firstElementChild.focus();
    if (row.geometry) fitGeometry(map, row.geometry);
  };
  const table = tableView(map, cat, {
    onRow: (f) => {
      const row = rows.find((r) => String(r.id) === String(f.id));
      if (f.layer === 'investment_sites' && row) showCard(row);
    },
  });
  async function search(form) {
    const query = { limit: 500 };
    for (const k of ['min_area_ha', 'max_area_ha', 'site_type', 'max_road_m', 'max_rail_m']) {
      const v = form.get(k);
      if (v !== null && String(v).trim() !== '') query[k] = String(v).trim();
    }
    for (const u of UTILITIES) if (form.get(u)) query[u] = 'true';
    if (form.get('near_centre')) {
      const c = map.getCenter();
      query.lon = c.lng.toFixed(6);
      query.lat = c.lat.toFixed(6);
    }
    try {
      const res = await api('/api/analytics/investment_search', { query: { ...query, f: 'geojson' } });
      rows = res.features.map((f) => ({ ...f.properties, id: f.id ?? f.properties.id, geometry: f.geometry }));
      // The map shows exactly the sites found, and the free plots of the area asked for.
      restrict(map, 'investment_sites', ['in', ['id'], ['literal', rows.map((r) => Number(r.id))]], original);
      const area = [];
      if (query.min_area_ha) area.push(['>=', ['to-number', ['get', 'area_ha'], 0], Number(query.min_area_ha)]);
      if (query.max_area_ha) area.push(['<=', ['to-number', ['get', 'area_ha'], 0], Number(query.max_area_ha)]);
      restrict(map, 'land_plots', area.length ? ['all', LAYER_FILTERS.land_plots, ...area] : LAYER_FILTERS.land_plots, original);
      // Vacant premises by their floor area (m², drawn from the tiles).
      const premises = [];
      const minM2 = form.get('min_premises_m2');
      const maxM2 = form.get('max_premises_m2');
      if (minM2) premises.push(['>=', ['to-number', ['get', 'area_m2'], 0], Number(minM2)]);
      if (maxM2) premises.push(['<=', ['to-number', ['get', 'area_m2'], 0], Number(maxM2)]);
      restrict(map, 'communal_property', premises.length ? ['all', LAYER_FILTERS.communal_property, ...premises] : LAYER_FILTERS.communal_property, original);
      replace(results,
        h('h2', {}, t('invest.results', { n: rows.length })),
        h('ul', { class: 'site-list' }, rows.map((r) => h('li', { dataset: { site: String(r.id) } },
          h('button', { type: 'button', class: 'link-button', on: { click: () => showCard(r) } }, siteTitle(r)),
          ` · ${valueLabel(r.site_type)} · ${fmtValue(r.area_ha)} ha`))));
      table.refresh();
    } catch (err) {
      showError(err);
    }
  }
  const switcher = layerSwitcher(map, cat, { onChange: () => { writeHash(); table.refresh(); } });
  syncSwitcher(switcher, map);
  const form = filterForm(search);
  replace(sidebar, h('div', { class: 'toolbar' }, table.button), form, card, results, switcher);
  layout.append(table.panel);
  await search(new FormData(form));
  document.body.dataset.ready = 'true';
}

main().catch((err) => showError(err));
