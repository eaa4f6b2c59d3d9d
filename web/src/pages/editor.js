// Page: department editors (/editor). Sign in, pick a layer the roles may
// edit, draw or reshape geometry (terra-draw), fill the attribute form
// generated from the registry, save through OGC API Features Part 4 with
// If-Match, see the history and restore a version, import a file.
import './editor/strings.js';
import { ApiError, get, qs, request } from '../lib/staff/api.js';
import { h, fill, nextId, status } from '../lib/staff/dom.js';
import { pick, t } from '../lib/staff/i18n.js';
import { createMap, extentOf } from '../lib/staff/map.js';
import { panel, startStaffPage } from '../lib/staff/shell.js';
import { tableView } from '../lib/staff/table.js';
import { Drawing } from './editor/draw.js';
import { attributeForm } from './editor/form.js';
import { showHistory } from './editor/history.js';
import { importPanel } from './editor/importer.js';

const versionOf = (etag) => Number(String(etag ?? '').replace(/^W\//, '').replace(/"/g, '').replace(/^v/, '')) || null;
const items = (layer) => `/ogc/collections/${encodeURIComponent(layer.id)}/items`;

startStaffPage({ titleKey: 'editor.title', render });

async function render(main, me) {
  const { layers } = await get('/api/layers');
  const editable = layers.filter((l) => l.attributes.some((a) => a.editable));
  if (!editable.length) {
    fill(main, h('p', { class: 'note' }, t('editor.noLayers')), h('p', { class: 'muted' }, me.roles.join(', ')));
    return;
  }
  const wanted = new URLSearchParams(location.search).get('layer');
  const state = {
    layer: editable.find((l) => l.id === wanted) ?? editable[0],
    features: [],
    current: null, // {id|null, etag|null, feature}
    form: null,
  };

  // Layout: the map (with its table view) and the side panel.
  const layerId = nextId('layer');
  const layerSelect = h('select', { id: layerId, name: 'layer' },
    editable.map((l) => h('option', { value: l.id, selected: l.id === state.layer.id }, pick(l.title))));
  const msg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const hint = h('p', { class: 'muted hint' });
  const newBtn = h('button', { type: 'button', id: 'new-feature' }, t('editor.new'));
  const partBtn = h('button', { type: 'button', class: 'secondary', hidden: true }, t('editor.addPart'));
  const saveBtn = h('button', { type: 'button', id: 'save-feature', disabled: true }, t('editor.save'));
  const cancelBtn = h('button', { type: 'button', class: 'secondary', disabled: true }, t('editor.cancel'));
  const deleteBtn = h('button', { type: 'button', class: 'danger', disabled: true }, t('editor.delete'));
  const conflict = h('div', { class: 'conflict', role: 'alert', hidden: true, id: 'conflict' });
  const featureHead = h('h3', { id: 'feature-head' });
  const geomError = h('p', { class: 'field-error', id: 'geometry-error', hidden: true });
  const otherErrors = h('ul', { class: 'form-error', id: 'other-errors', hidden: true });
  const formBox = h('form', { id: 'feature-form', novalidate: true });
  const historyBox = h('div', { id: 'history' });
  const historyPanel = panel(t('history.title'), historyBox);
  const importBox = h('div', { id: 'import' });
  const mapBox = h('div', { class: 'map', id: 'map', role: 'region', 'aria-label': t('editor.map') });
  const table = tableView({
    columns: () => [
      { key: 'id', title: 'id' },
      ...state.layer.attributes.slice(0, 5).map((a) => ({ key: a.name, title: pick(a.title), format: (r) => r.properties?.[a.name] })),
    ],
    rows: () => state.features,
    onRow: (f) => select(f.id),
  });
  historyPanel.hidden = true;
  formBox.addEventListener('submit', (ev) => { ev.preventDefault(); save(); });

  fill(main, h('div', { class: 'editor' },
    h('div', {}, h('div', { class: 'editor-map' }, mapBox), table.element),
    h('div', { class: 'editor-side' },
      panel(t('editor.layer'),
        h('label', { for: layerId, class: 'visually-hidden' }, t('editor.layer')), layerSelect,
        h('div', { class: 'toolbar' }, newBtn, partBtn, saveBtn, cancelBtn, deleteBtn), hint, msg, conflict),
      panel(t('editor.attributes'), featureHead, geomError, otherErrors, formBox),
      historyPanel,
      panel(t('import.title'), importBox))));

  const map = await createMap(mapBox);
  addFeatureLayers(map);
  const drawing = new Drawing(map, state.layer.geometry_type, { onFinish: () => { hint.textContent = t('editor.editHint'); } });

  const hasGeometry = () => state.layer.geometry_type !== 'None';

  function setButtons() {
    const open = !!state.current;
    saveBtn.disabled = !open;
    cancelBtn.disabled = !open;
    deleteBtn.disabled = !(open && state.current.id);
    partBtn.hidden = !(open && hasGeometry() && state.layer.geometry_type.startsWith('Multi'));
    newBtn.textContent = hasGeometry() ? t('editor.new') : t('editor.newRecord');
    hint.textContent = !open ? t('editor.browseHint') : drawing.isDrawing() ? t('editor.drawHint') : hasGeometry() ? t('editor.editHint') : '';
  }

  async function loadFeatures() {
    const layer = state.layer;
    const params = { limit: 1000 };
    if (hasGeometry()) {
      const b = map.getBounds();
      params.bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
    }
    try {
      const fc = await get(`${items(layer)}${qs(params)}`);
      if (layer !== state.layer) return;
      state.features = fc.features ?? [];
      map.getSource('features').setData({ type: 'FeatureCollection', features: state.features.filter((f) => f.geometry) });
      table.refresh();
    } catch (e) {
      status(msg, t('common.error', { detail: e.message }), 'error');
    }
  }

  function hideSelected() {
    const id = state.current?.id ?? -1;
    for (const [l, types] of Object.entries(FILTER)) map.setFilter(l, ['all', isType(types), ['!=', ['id'], id]]);
  }

  function showForm(feature) {
    state.form = attributeForm(state.layer, feature.properties ?? {});
    fill(formBox, state.form.element, h('button', { type: 'submit', hidden: true }, t('editor.save')));
    geomError.hidden = true;
    otherErrors.hidden = true;
    featureHead.textContent = state.current.id
      ? t('editor.feature', { id: state.current.id, version: versionOf(state.current.etag) ?? '?' })
      : t('editor.featureNew');
  }

  async function select(fid) {
    conflict.hidden = true;
    try {
      const r = await request('GET', `${items(state.layer)}/${fid}`);
      state.current = { id: fid, etag: r.etag, feature: r.body };
      showForm(r.body);
      if (hasGeometry()) drawing.load(r.body.geometry);
      hideSelected();
      setButtons();
      historyPanel.hidden = false;
      await refreshHistory();
    } catch (e) {
      status(msg, t('common.error', { detail: e.message }), 'error');
    }
  }

  async function refreshHistory() {
    if (!state.current?.id) return;
    try {
      await showHistory(historyBox, state.layer, state.current.id, {
        etag: () => state.current.etag,
        onRestored: async (version, r) => {
          status(msg, t('history.restored', { version, now: versionOf(r.etag) ?? '?' }), 'ok');
          await select(state.current.id);
          await loadFeatures();
        },
        onError: (e) => failed(e),
      });
    } catch (e) {
      fill(historyBox, h('p', { 'data-kind': 'error' }, t('common.error', { detail: e.message })));
    }
  }

  function startNew() {
    conflict.hidden = true;
    state.current = { id: null, etag: null, feature: { type: 'Feature', properties: {}, geometry: null } };
    showForm(state.current.feature);
    if (hasGeometry()) drawing.start();
    hideSelected();
    historyPanel.hidden = true;
    setButtons();
    status(msg, '');
  }

  function close() {
    state.current = null;
    state.form = null;
    drawing.stop();
    fill(formBox);
    featureHead.textContent = '';
    geomError.hidden = true;
    otherErrors.hidden = true;
    historyPanel.hidden = true;
    hideSelected();
    setButtons();
  }

  function failed(e) {
    if (e instanceof ApiError && e.status === 412) {
      fill(conflict,
        h('strong', {}, t('editor.conflictTitle')), h('p', {}, t('editor.conflict', { mine: versionOf(state.current?.etag) ?? '?' })),
        h('p', { class: 'muted' }, e.message),
        h('button', { type: 'button', id: 'reload-feature', onclick: () => select(state.current.id) }, t('editor.reload')));
      conflict.hidden = false;
      conflict.querySelector('button').focus();
      status(msg, t('editor.conflictTitle'), 'error');
      return;
    }
    if (e instanceof ApiError && e.status === 422 && Array.isArray(e.problem?.errors)) {
      const rest = state.form ? state.form.showErrors(e.problem.errors) : e.problem.errors;
      const geom = rest.filter((x) => x.field === 'geometry');
      const other = rest.filter((x) => x.field !== 'geometry');
      geomError.hidden = !geom.length;
      geomError.textContent = geom.map((x) => `${t('editor.geometry')}: ${x.message}`).join('; ');
      fill(otherErrors, other.map((x) => h('li', {}, `${x.field}: ${x.message}`)));
      otherErrors.hidden = !other.length;
      status(msg, t('editor.invalid', { n: e.problem.errors.length }), 'error');
      return;
    }
    if (e instanceof ApiError && e.status === 403) {
      status(msg, t('editor.forbidden', { detail: e.message }), 'error');
      return;
    }
    status(msg, e.client ? e.message : t('common.error', { detail: e.message }), 'error');
  }

  async function save() {
    if (!state.current || !state.form) return;
    conflict.hidden = true;
    geomError.hidden = true;
    otherErrors.hidden = true;
    let properties;
    try { properties = state.form.values(); } catch (e) { failed(e); return; }
    let geometry = null;
    if (hasGeometry()) {
      geometry = drawing.changed() ? drawing.geometry() : state.current.feature.geometry ?? null;
      if (!geometry) {
        geomError.textContent = t('editor.noGeometry');
        geomError.hidden = false;
        status(msg, t('editor.noGeometry'), 'error');
        return;
      }
    }
    const body = { type: 'Feature', geometry, properties };
    saveBtn.disabled = true;
    try {
      if (state.current.id) {
        // A new shape replaces the feature (PUT); attributes alone are a
        // merge patch, so the stored geometry is not rewritten at all.
        const r = hasGeometry() && drawing.changed()
          ? await request('PUT', `${items(state.layer)}/${state.current.id}`, {
            json: body, type: 'application/geo+json', headers: { 'If-Match': state.current.etag },
          })
          : await request('PATCH', `${items(state.layer)}/${state.current.id}`, {
            json: { properties }, type: 'application/merge-patch+json', headers: { 'If-Match': state.current.etag },
          });
        status(msg, t('editor.saved', { version: versionOf(r.etag) ?? '?' }), 'ok');
        await select(state.current.id);
      } else {
        const r = await request('POST', items(state.layer), { json: body, type: 'application/geo+json' });
        const id = r.body?.id ?? Number((r.headers.get('Location') ?? '').split('/').pop());
        status(msg, t('editor.created', { id }), 'ok');
        await select(id);
      }
      await loadFeatures();
    } catch (e) {
      failed(e);
    } finally {
      saveBtn.disabled = !state.current;
    }
  }

  async function remove() {
    if (!state.current?.id || !window.confirm(t('editor.confirmDelete'))) return;
    try {
      await request('DELETE', `${items(state.layer)}/${state.current.id}`, { headers: { 'If-Match': state.current.etag } });
      close();
      status(msg, t('editor.deleted'), 'ok');
      await loadFeatures();
    } catch (e) {
      failed(e);
    }
  }

  async function switchLayer(id) {
    state.layer = editable.find((l) => l.id === id) ?? state.layer;
    const u = new URL(location.href);
    u.searchParams.set('layer', state.layer.id);
    history.replaceState(null, '', u);
    close();
    drawing.setType(state.layer.geometry_type);
    fill(importBox, importPanel(state.layer, { onImported: () => loadFeatures() }));
    // A register has no map: its rows are picked from the table.
    mapBox.parentElement.hidden = !hasGeometry();
    if (!hasGeometry()) table.toggle(true);
    else map.resize();
    if (hasGeometry()) {
      try {
        const coll = await get(`/ogc/collections/${encodeURIComponent(state.layer.id)}`);
        const b = coll.extent?.spatial?.bbox?.[0];
        const view = map.getBounds();
        const inside = b && view.getWest() < b[2] && view.getEast() > b[0] && view.getSouth() < b[3] && view.getNorth() > b[1];
        if (b && !inside) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
      } catch { /* keep the view */ }
    }
    await loadFeatures();
  }

  map.on('moveend', () => { if (hasGeometry()) loadFeatures(); });
  for (const l of ['features-fill', 'features-line', 'features-point']) {
    map.on('click', l, (ev) => {
      if (drawing.isDrawing()) return;
      const f = ev.features?.[0];
      if (f && f.id !== undefined && f.id !== state.current?.id) select(f.id);
    });
    map.on('mouseenter', l, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', l, () => { map.getCanvas().style.cursor = ''; });
  }
  layerSelect.addEventListener('change', () => switchLayer(layerSelect.value));
  newBtn.addEventListener('click', startNew);
  partBtn.addEventListener('click', () => { drawing.start(true); setButtons(); });
  saveBtn.addEventListener('click', save);
  cancelBtn.addEventListener('click', () => { close(); status(msg, ''); });
  deleteBtn.addEventListener('click', remove);

  await switchLayer(state.layer.id);
  setButtons();
  // For the browser tests and for people checking the map: drawn features.
  mapBox.dataset.ready = 'true';
  window.geoportalEditor = { map, state, drawing, extentOf };
}

const POLY = ['Polygon', 'MultiPolygon'];
const LINE = ['LineString', 'MultiLineString'];
const POINT = ['Point', 'MultiPoint'];
const FILTER = { 'features-fill': POLY, 'features-outline': POLY, 'features-line': LINE, 'features-point': POINT };
const isType = (types) => ['in', ['geometry-type'], ['literal', types]];

function addFeatureLayers(map) {
  map.addSource('features', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'features-fill', type: 'fill', source: 'features', filter: isType(POLY), paint: { 'fill-color': '#e07b00', 'fill-opacity': 0.35 } });
  map.addLayer({ id: 'features-outline', type: 'line', source: 'features', filter: isType(POLY), paint: { 'line-color': '#a35400', 'line-width': 1.5 } });
  map.addLayer({ id: 'features-line', type: 'line', source: 'features', filter: isType(LINE), paint: { 'line-color': '#a35400', 'line-width': 3 } });
  map.addLayer({ id: 'features-point', type: 'circle', source: 'features', filter: isType(POINT), paint: { 'circle-color': '#e07b00', 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
}
