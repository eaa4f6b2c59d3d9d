// Page: the resident map (`/`). Every public layer with a switcher and
// legends, popups, search, "find my deputy", filing and following an
// appeal, permalinks and a table view.
import { showError } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { initLang, t } from '../lib/i18n.js';
import { layerSwitcher, syncSwitcher } from '../lib/legend.js';
import { catalogue, createMap, maplibregl } from '../lib/map.js';
import { applyDefaults, applyLayers, bindPermalink, readHash } from '../lib/permalink.js';
import { enablePopups, itemPopup } from '../lib/popup.js';
import { shell } from '../lib/shell.js';
import { tableView } from '../lib/table.js';
import { appealForm, filedCard } from './index/appeal.js';
import { deputyStart, lookupDeputy } from './index/deputy.js';
import { searchForm } from './index/search.js';
import { trackPanel } from './index/track.js';

/** A point of a GeoJSON geometry, where its popup opens. */
function firstPoint(g) {
  let c = g?.coordinates;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  return Array.isArray(c) && c.length >= 2 ? c : null;
}

async function main() {
  initLang('uk');
  const search = searchForm({ catalogue, onPick: (hit) => pick(hit) });
  const { sidebar, mapEl, layout } = shell({ page: 'index', headerExtra: search });
  const hash = readHash();
  const [cat, map] = await Promise.all([catalogue(), createMap(mapEl, { view: hash.view })]);
  window.geoportal = { map };
  if (hash.layers) applyLayers(map, hash.layers);
  else applyDefaults(map);
  const writeHash = bindPermalink(map);

  // Modes: a click on the map opens a popup, or picks the place of an
  // appeal, or the place whose deputy to find.
  let mode = null;
  const panel = h('div', { id: 'panel', class: 'panel' });
  const marker = new maplibregl.Marker({ color: '#0b5cad' });
  const modeButton = (name, label) => h('button', {
    type: 'button', class: 'secondary', 'aria-pressed': 'false', dataset: { mode: name },
    on: { click: () => setMode(mode === name ? null : name) },
  }, label);
  const deputyBtn = modeButton('deputy', t('mode.deputy'));
  const appealBtn = modeButton('appeal', t('mode.appeal'));
  function setMode(next) {
    mode = next;
    for (const b of [deputyBtn, appealBtn]) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
    map.getCanvas().style.cursor = mode ? 'crosshair' : '';
    marker.remove();
    if (mode === 'deputy') {
      deputyStart(panel, (p) => { placeMarker(p); lookupDeputy(panel, p); });
      panel.querySelector('.card')?.append(' ', centreButton());
    } else if (mode === 'appeal') {
      replace(panel, h('div', { class: 'card' }, h('p', { class: 'mode-hint' }, t('mode.pick_point')), centreButton()));
    } else {
      replace(panel);
    }
  }
  function placeMarker(p) {
    marker.setLngLat([p.lon, p.lat]).addTo(map);
  }
  // A place is picked by a click, or — from the keyboard — as the map
  // centre after panning with the arrow keys.
  function pickAt(p) {
    placeMarker(p);
    if (mode === 'deputy') lookupDeputy(panel, p);
    else if (mode === 'appeal') {
      if (appeal && panel.contains(appeal.form)) {
        appeal.setPoint(p);
        return;
      }
      appealForm(panel, p, {
        onFiled: (filed) => { mode = null; setButtons(); filedCard(panel, filed); },
        onCancel: () => setMode(null),
      }).then((ctl) => { appeal = ctl; }).catch(showError);
    }
  }
  let appeal = null;
  const centreButton = () => h('button', { type: 'button', class: 'secondary', on: { click: () => {
    const c = map.getCenter();
    pickAt({ lon: c.lng, lat: c.lat });
  } } }, t('mode.use_centre'));
  map.on('click', (e) => {
    if (!mode) return;
    pickAt({ lon: e.lngLat.lng, lat: e.lngLat.lat });
  });
  function setButtons() {
    for (const b of [deputyBtn, appealBtn]) b.setAttribute('aria-pressed', 'false');
    map.getCanvas().style.cursor = '';
  }
  enablePopups(map, cat, { enabled: () => !mode });

  // A row of the table opens the feature's popup (keyboard users reach features this way).
  const table = tableView(map, cat, {
    onRow: (f) => {
      const c = firstPoint(f.geometry);
      if (c && f.id !== undefined && f.id !== null) itemPopup(map, cat, f.layer, f.id, c).catch(showError);
    },
  });
  const switcher = layerSwitcher(map, cat, { onChange: () => { writeHash(); table.refresh(); } });
  syncSwitcher(switcher, map);
  replace(sidebar,
    h('div', { class: 'toolbar' }, deputyBtn, appealBtn, table.button),
    panel,
    switcher);
  layout.append(table.panel);

  async function pick(hit) {
    if (Array.isArray(hit.bbox) && hit.bbox[0] !== hit.bbox[2]) {
      map.fitBounds([[hit.bbox[0], hit.bbox[1]], [hit.bbox[2], hit.bbox[3]]], { padding: 40, maxZoom: 17 });
    } else if (Number.isFinite(hit.lon) && Number.isFinite(hit.lat)) {
      map.flyTo({ center: [hit.lon, hit.lat], zoom: 17 });
    }
    if (Number.isFinite(hit.lon) && Number.isFinite(hit.lat)) {
      placeMarker({ lon: hit.lon, lat: hit.lat });
      // A feature of a map layer opens with its public attributes.
      if (cat.get(hit.layer)?.geometry_type !== 'None') {
        itemPopup(map, cat, hit.layer, hit.id, [hit.lon, hit.lat]).catch(showError);
      }
    }
  }

  const track = new URLSearchParams(location.search).get('track');
  if (track) await trackPanel(panel, map, track);
  document.body.dataset.ready = 'true';
}

main().catch((err) => showError(err));
