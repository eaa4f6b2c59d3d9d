// Page: department editors (/editor). Sign in, pick a layer the roles may
// edit, draw or reshape geometry (terra-draw), fill the attribute form
// generated from the registry, save through OGC API Features Part 4 with
// If-Match, see the history and restore a version, import a file. The
// geometry can also be typed or pasted (GeoJSON or WKT), so the page works
// without a mouse; the URL is a permalink of the view, layer and feature.
import './editor/strings.js';
import { ApiError, get, qs, request } from '../lib/staff/api.js';
import { h, fill, nextId, status } from '../lib/staff/dom.js';
import { pick, t } from '../lib/staff/i18n.js';
import { GeometryTextError, fitLayerType, geometryToWkt, parseGeometryText } from '../lib/staff/geomtext.js';
import { createMap, extentOf } from '../lib/staff/map.js';
import { bindPermalink, viewFromHash } from '../lib/staff/permalink.js';
import { panel, startStaffPage } from '../lib/staff/shell.js';
import { tableView } from '../lib/staff/table.js';
import { Drawing } from './editor/draw.js';
import { attributeForm } from './editor/form.js';
import { showHistory } from './editor/history.js';
import { importPanel } from './editor/importer.js';

const versionOf = (etag) => Number(String(etag ?? '').replace(/^W\//, '').replace(/"/g, '').replace(/^v/, '')) || null;
const items = (layer) => `/ogc/collections/${encodeURIComponent(layer.id)}/items`;
// terra-draw keeps 9 decimals; typed geometry is rounded alike so that what
// was applied and what the drawing holds compare equal.
const round9 = (c) => (typeof c[0] === 'number' ? c.map((x) => Math.round(x * 1e9) / 1e9) : c.map(round9));
// Feature ids in the URL: numbers where they look like numbers (as the map's ids are).
const idOf = (text) => (/^\d+$/.test(text ?? '') ? Number(text) : text || null);

startStaffPage({ titleKey: 'editor.title', render });

async function render(main, me) {
  const { layers } = await get('/api/layers');
  const editable = layers.filter((l) => l.attributes.some((a) => a.editable));
  if (!editable.length) {
    fill(main, h('p', { class: 'note' }, t('editor.noLayers')), h('p', { class: 'muted' }, me.roles.join(', ')));
    return;
  }
  const query = new URLSearchParams(location.search);
  const wanted = query.get('layer');
  const wantedFeature = idOf(query.get('feature'));
  const state = {
    layer: editable.find((l) => l.id === wanted) ?? editable[0],
    features: [],
    // {id|null, etag|null, feature, baseline: JSON of the drawing as loaded,
    //  typed: an applied geometry the drawing cannot hold (holes, a point
    //  on a generic layer), saved as typed}
    current: null,
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
  // The keyboard way to a shape: the geometry as text, applied with Enter
  // or the button; it follows the drawing while not being edited.
  const geomText = h('textarea', {
    id: 'geometry-text', name: 'geometry_text', rows: 4, spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': 'geometry-text-help geometry-text-error geometry-error',
    placeholder: 'POLYGON ((30.52 50.45, 30.53 50.45, 30.53 50.46, 30.52 50.45))',
  });
  const geomTextError = h('p', { class: 'field-error', id: 'geometry-text-error', hidden: true });
  const geomApply = h('button', { type: 'button', id: 'apply-geometry', class: 'secondary' }, t('editor.geometryApply'));
  const geomBox = h('div', { class: 'geometry-text', id: 'geometry-box', hidden: true },
    h('label', { for: 'geometry-text' }, t('editor.geometryText')), geomText,
    h('p', { class: 'muted hint', id: 'geometry-text-help' }, t('editor.geometryTextHelp')),
    geomTextError, h('div', { class: 'toolbar' }, geomApply));
  let textDirty = false;
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
      panel(t('editor.attributes'), featureHead, geomError, otherErrors, geomBox, formBox),
      historyPanel,
      panel(t('import.title'), importBox))));

  const map = await createMap(mapBox);
  addFeatureLayers(map);
  const drawing = new Drawing(map, state.layer.geometry_type, { onFinish: () => { hint.textContent = t('editor.editHint'); } });

  const hasGeometry = () => state.layer.geometry_type !== 'None';

  /** The geometry a save would send (the stored one while nothing is drawn). */
  function currentGeometry() {
    if (!state.current) return null;
    return state.current.typed ?? drawing.geometry() ?? (state.current.id ? state.current.feature.geometry : null);
  }

  /** Whether the shape differs from the stored one (a new feature always does). */
  function geometryChanged() {
    if (!state.current) return false;
    return !!state.current.typed || JSON.stringify(drawing.geometry()) !== state.current.baseline;
  }

  function showTextError(text) {
    geomTextError.textContent = text;
    geomTextError.hidden = !text;
    if (text) geomText.setAttribute('aria-invalid', 'true');
    else geomText.removeAttribute('aria-invalid');
  }

  /** Puts the current shape in the text field (unless the user is editing it, or `force`). */
  function showGeometryText(force = false) {
    if (!force && textDirty) return;
    geomText.value = geometryToWkt(currentGeometry());
    textDirty = false;
    if (force) showTextError('');
  }

  /** A typed shape the drawing cannot hold is drawn dashed on its own. */
  function showTyped() {
    const g = state.current?.typed;
    map.getSource('typed').setData({ type: 'FeatureCollection', features: g ? [{ type: 'Feature', geometry: g, properties: {} }] : [] });
  }

  /** Reads the text field into the drawing; false (and the error at the field) when it does not parse. */
  function applyGeometryText() {
    if (!state.current || !hasGeometry()) return false;
    let geometry;
    try {
      geometry = fitLayerType(parseGeometryText(geomText.value), state.layer.geometry_type);
    } catch (e) {
      if (!(e instanceof GeometryTextError)) throw e;
      showTextError(t(e.key, e.params));
      return false;
    }
    geometry = { type: geometry.type, coordinates: round9(geometry.coordinates) };
    drawing.load(geometry);
    state.current.typed = JSON.stringify(drawing.geometry()) === JSON.stringify(geometry) ? null : geometry;
    showTyped();
    geomError.hidden = true;
    showGeometryText(true);
    setButtons();
    status(msg, state.current.typed ? t('editor.geometryTyped') : t('editor.geometryApplied'), 'ok');
    return true;
  }

  geomText.addEventListener('input', () => { textDirty = true; });
  geomText.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      applyGeometryText();
    } else if (ev.key === 'Escape' && textDirty) {
      ev.preventDefault();
      showGeometryText(true);
    }
  });
  geomApply.addEventListener('click', () => applyGeometryText());
  // The text follows the drawing; a shape finished or dragged on the map
  // is the latest word, over a typed one and over unapplied text.
  let textTimer = null;
  drawing.draw.on('change', () => {
    clearTimeout(textTimer);
    textTimer = setTimeout(() => { if (state.current && hasGeometry()) showGeometryText(); }, 150);
  });
  drawing.draw.on('finish', () => {
    if (!state.current) return;
    state.current.typed = null;
    showTyped();
    showGeometryText(true);
  });

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
    geomBox.hidden = !hasGeometry();
    featureHead.textContent = state.current.id
      ? t('editor.feature', { id: state.current.id, version: versionOf(state.current.etag) ?? '?' })
      : t('editor.featureNew');
  }

  async function select(fid) {
    conflict.hidden = true;
    try {
      const r = await request('GET', `${items(state.layer)}/${fid}`);
      state.current = { id: fid, etag: r.etag, feature: r.body, baseline: null, typed: null };
      showForm(r.body);
      if (hasGeometry()) drawing.load(r.body.geometry);
      state.current.baseline = JSON.stringify(drawing.geometry());
      showTyped();
      showGeometryText(true);
      hideSelected();
      setButtons();
      syncUrl();
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
    state.current = { id: null, etag: null, feature: { type: 'Feature', properties: {}, geometry: null }, baseline: null, typed: null };
    showForm(state.current.feature);
    if (hasGeometry()) drawing.start();
    showTyped();
    showGeometryText(true);
    syncUrl();
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
    geomBox.hidden = true;
    geomText.value = '';
    textDirty = false;
    showTextError('');
    showTyped();
    otherErrors.hidden = true;
    historyPanel.hidden = true;
    hideSelected();
    setButtons();
    syncUrl();
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
      if (geom.length) geomText.setAttribute('aria-invalid', 'true');
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
    // Text typed but not applied yet is applied now; text that does not
    // parse stops the save, with its error at the field.
    if (hasGeometry() && textDirty && !applyGeometryText()) {
      status(msg, t('editor.geometryTextInvalid'), 'error');
      geomText.focus();
      return;
    }
    if (hasGeometry()) showTextError('');
    let properties;
    try { properties = state.form.values(); } catch (e) { failed(e); return; }
    let geometry = null;
    if (hasGeometry()) {
      geometry = geometryChanged() ? currentGeometry() : state.current.feature.geometry ?? null;
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
        const r = hasGeometry() && geometryChanged()
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

  /** Shows layer `id`; the map goes to its extent unless the view shows some of it or `keepView`. */
  async function switchLayer(id, { keepView = false } = {}) {
    state.layer = editable.find((l) => l.id === id) ?? state.layer;
    close();
    drawing.setType(state.layer.geometry_type);
    fill(importBox, importPanel(state.layer, { onImported: () => loadFeatures() }));
    // A register has no map: its rows are picked from the table.
    mapBox.parentElement.hidden = !hasGeometry();
    if (!hasGeometry()) table.toggle(true);
    else map.resize();
    if (hasGeometry() && !keepView) {
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
  // The URL: ?layer=…&feature=… and #map=zoom/lat/lon, as the user goes.
  const syncUrl = bindPermalink(map, () => ({ layer: state.layer.id, feature: state.current?.id ?? null }));
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

  // A permalink's view is kept as it is, even where the layer has nothing yet.
  await switchLayer(state.layer.id, { keepView: !!viewFromHash() });
  // A permalink to a feature opens it (the view stays the link's).
  if (wantedFeature !== null) {
    await select(wantedFeature);
    syncUrl();
  }
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
  // A typed shape terra-draw cannot hold, drawn dashed.
  map.addSource('typed', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'typed-fill', type: 'fill', source: 'typed', filter: isType(POLY), paint: { 'fill-color': '#0a5cad', 'fill-opacity': 0.2 } });
  map.addLayer({ id: 'typed-line', type: 'line', source: 'typed', filter: isType([...POLY, ...LINE]), paint: { 'line-color': '#0a5cad', 'line-width': 2, 'line-dasharray': [2, 1] } });
  map.addLayer({ id: 'typed-point', type: 'circle', source: 'typed', filter: isType(POINT), paint: { 'circle-color': '#0a5cad', 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
}
