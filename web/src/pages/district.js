// Page: the deputy's district view (`/districts/{number}`): the district
// on the map with its layers, the district summary of the analytics API as
// numbers and bar charts, the weekly trend, overdue appeals, a table view.
// `/districts` lists the districts.
import { api, showError } from '../lib/api.js';
import { barChart, columnChart } from '../lib/charts.js';
import { deputyCard } from '../lib/deputies.js';
import { h, replace } from '../lib/dom.js';
import { fmtDate, fmtNumber, lang, t, valueLabel } from '../lib/i18n.js';
import { layerSwitcher, syncSwitcher } from '../lib/legend.js';
import { catalogue, createMap } from '../lib/map.js';
import { applyDefaults, applyLayers, bindPermalink, readHash } from '../lib/permalink.js';
import { enablePopups } from '../lib/popup.js';
import { shell } from '../lib/shell.js';
import { tableView } from '../lib/table.js';

/** One number of the report; `data-key` names its place in the API's answer. */
function stat(key, label, value, digits = 2) {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { dataset: { key } }, value === null || value === undefined ? '—' : fmtNumber(value, digits)));
}

function bbox(geometry) {
  let b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return b;
}

async function categoryTitles() {
  try {
    const list = await api('/open311/v2/services.json');
    return new Map(list.map((s) => [s.service_code, lang() === 'en' && s.description ? s.description : s.service_name]));
  } catch {
    return new Map();
  }
}

function summarySection(s, titles) {
  const a = s.appeals ?? {};
  const byStatus = Object.entries(a.by_status ?? {}).map(([k, v]) => ({ key: k, label: valueLabel(k), value: v }))
    .sort((x, y) => y.value - x.value);
  const byCategory = Object.entries(a.by_category ?? {}).map(([k, v]) => ({ key: k, label: titles.get(k) ?? k, value: v }))
    .sort((x, y) => y.value - x.value);
  const p = s.property ?? {};
  const l = s.land ?? {};
  const e = s.energy ?? {};
  const ad = s.ads ?? {};
  const ts = s.temporary_structures ?? {};
  const inv = s.investment_sites ?? {};
  const b = s.budget ?? {};
  return h('section', { class: 'summary', 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, t('district.summary')),
    h('dl', { class: 'stats' },
      stat('population', t('district.population'), s.population, 0),
      stat('voters', t('district.voters'), s.voters, 0)),
    h('h3', {}, t('district.appeals')),
    h('dl', { class: 'stats' },
      stat('appeals.total', t('district.appeals_total'), a.total, 0),
      stat('appeals.on_time_pct', t('district.on_time'), a.on_time_pct, 1),
      stat('appeals.median_days', t('district.median_days'), a.median_days, 1),
      stat('appeals.overdue', t('district.overdue'), a.overdue, 0)),
    byStatus.length ? barChart(byStatus, { title: t('district.by_status'), key: 'appeals.by_status' }) : null,
    byCategory.length ? barChart(byCategory, { title: t('district.by_category'), key: 'appeals.by_category' }) : null,
    h('h3', {}, t('district.property')),
    h('dl', { class: 'stats' },
      stat('property.count', t('district.property_count'), p.count, 0),
      stat('property.leased', t('district.leased'), p.leased, 0),
      stat('property.vacant', t('district.vacant'), p.vacant, 0),
      stat('property.arrears_uah', t('district.arrears'), p.arrears_uah, 2)),
    h('h3', {}, t('district.land')),
    h('dl', { class: 'stats' },
      stat('land.plots', t('district.land_plots'), l.plots, 0),
      stat('land.area_ha', t('district.land_area'), l.area_ha, 2)),
    h('h3', {}, t('district.energy')),
    h('dl', { class: 'stats' },
      stat('energy.objects', t('district.energy_objects'), e.objects, 0),
      stat('energy.mean_eui_kwh_m2_year', t('district.energy_eui'), e.mean_eui_kwh_m2_year, 2),
      stat('energy.outliers', t('district.energy_outliers'), e.outliers, 0)),
    h('h3', {}, `${t('district.ads')} · ${t('district.temporary')} · ${t('district.investment')}`),
    h('dl', { class: 'stats' },
      stat('ads.count', t('district.ads_count'), ad.count, 0),
      stat('ads.without_permit', t('district.ads_without_permit'), ad.without_permit, 0),
      stat('temporary_structures.count', t('district.temporary'), ts.count, 0),
      stat('investment_sites.count', t('district.investment'), inv.count, 0)),
    h('h3', {}, t('district.budget')),
    h('dl', { class: 'stats' },
      stat('budget.projects', t('district.budget_projects'), b.projects, 0),
      stat('budget.planned_uah', t('district.budget_planned'), b.planned_uah, 2),
      stat('budget.contracted_uah', t('district.budget_contracted'), b.contracted_uah, 2),
      stat('budget.paid_uah', t('district.budget_paid'), b.paid_uah, 2)));
}

async function trendSection(id) {
  const res = await api('/api/analytics/appeals_trend', { query: { district_id: id } });
  const rows = res.rows.slice(-26).map((r) => ({ label: fmtDate(r.week_start, false), a: Number(r.submitted), b: Number(r.answered) }));
  return columnChart(rows, { title: t('district.trend'), aLabel: t('district.trend_new'), bLabel: t('district.trend_answered') });
}

/**
 * Public appeals of the district past their deadline (staff see more, by
 * their roles). `total` is the summary's overdue count, which also counts
 * appeals that are not public: the difference is said, not hidden.
 */
async function overdueSection(id, total) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const res = await api('/ogc/collections/appeals/items', { query: {
    filter: `electoral_district_id = ${Number(id)} AND status IN ('registered','in_progress','extended') AND due_at < TIMESTAMP('${now}')`,
    'filter-lang': 'cql2-text', limit: 100,
  } });
  const list = res.features ?? [];
  return h('section', { class: 'overdue', 'aria-labelledby': 'overdue-heading' },
    h('h3', { id: 'overdue-heading' }, `${t('district.overdue_list')} (${list.length})`),
    list.length
      ? h('ul', {}, list.map((f) => h('li', { dataset: { appeal: f.properties.public_number } },
        `${f.properties.public_number} · ${valueLabel(f.properties.status)} · ${t('appeal.due')}: ${fmtDate(f.properties.due_at)}`)))
      : h('p', {}, t('district.overdue_none')),
    Number(total) > list.length
      ? h('p', { class: 'note', dataset: { unlisted: String(Number(total) - list.length) } },
        t('district.overdue_unlisted', { n: Number(total) - list.length }))
      : null);
}

async function districtList(sidebar) {
  const res = await api('/api/districts');
  replace(sidebar, h('section', { class: 'panel' }, h('h2', {}, t('district.choose')),
    h('ul', { class: 'district-list' }, res.districts.map((d) => h('li', {},
      h('a', { href: `/districts/${d.number}` }, `${t('district.title', { n: d.number })}: ${d.name ?? ''}`),
      d.deputies.length ? h('span', { class: 'hint' }, ` — ${d.deputies.map((x) => x.full_name).join(', ')}`) : null)))));
}

async function main() {
  const m = location.pathname.match(/^\/districts\/(\d+)\/?$/);
  const number = m ? Number(m[1]) : null;
  const { sidebar, mapEl, layout } = shell({ page: 'district', title: number ? t('district.title', { n: number }) : t('nav.districts') });
  const hash = readHash();
  const cat = await catalogue();
  if (!number) {
    const map = await createMap(mapEl, { view: hash.view });
    window.geoportal = { map };
    applyLayers(map, hash.layers ?? ['electoral_districts']);
    bindPermalink(map);
    enablePopups(map, cat);
    await districtList(sidebar);
    document.body.dataset.ready = 'true';
    return;
  }
  const list = await api('/api/districts');
  const found = list.districts.find((d) => d.number === number);
  if (!found) {
    replace(sidebar, h('p', { role: 'alert' }, t('district.not_found', { n: number })));
    await createMap(mapEl, { view: hash.view });
    document.body.dataset.ready = 'true';
    return;
  }
  const district = await api(`/api/districts/${found.id}`);
  const map = await createMap(mapEl, { view: hash.view, bounds: district.geometry ? bbox(district.geometry) : null });
  window.geoportal = { map };
  if (hash.layers) applyLayers(map, hash.layers);
  else applyDefaults(map);
  if (district.geometry) {
    map.addSource('district', { type: 'geojson', data: { type: 'Feature', geometry: district.geometry, properties: {} } });
    map.addLayer({ id: 'district-outline', type: 'line', source: 'district', paint: { 'line-color': '#c51b7d', 'line-width': 4 } });
  }
  const writeHash = bindPermalink(map);
  enablePopups(map, cat);
  const table = tableView(map, cat);
  const switcher = layerSwitcher(map, cat, { onChange: () => { writeHash(); table.refresh(); } });
  syncSwitcher(switcher, map);
  layout.append(table.panel);

  const report = h('div', { class: 'report', 'aria-busy': 'true' });
  replace(sidebar,
    h('section', { class: 'panel district-head' },
      h('h2', {}, t('district.title', { n: district.number })),
      h('p', {}, district.name ?? ''),
      h('h3', {}, t('district.deputies')),
      district.deputies.length ? district.deputies.map(deputyCard) : h('p', {}, t('deputy.none'))),
    h('div', { class: 'toolbar' }, table.button),
    report,
    switcher);
  const [summary, titles] = await Promise.all([
    api('/api/analytics/district_summary', { query: { district_id: found.id } }),
    categoryTitles(),
  ]);
  const row = summary.rows[0] ?? {};
  const parts = [summarySection(row, titles)];
  const settled = await Promise.allSettled([trendSection(found.id), overdueSection(found.id, row.appeals?.overdue)]);
  for (const s of settled) {
    if (s.status === 'fulfilled') parts.push(s.value);
    else showError(s.reason);
  }
  replace(report, ...parts);
  report.setAttribute('aria-busy', 'false');
  report.dataset.districtId = String(found.id);
  document.body.dataset.ready = 'true';
}

main().catch((err) => showError(err));
