// Popups of map features: the tile's attributes at once, then every public
// attribute of the feature from OGC API – Features (what this requester
// may read; the author of an appeal never appears).
import { api } from './api.js';
import { h, replace } from './dom.js';
import { fmtValue, t, tr } from './i18n.js';
import { layerOf, maplibregl, visibleOverlayStyleLayers } from './map.js';

// One popup at a time.
let current = null;
function only(popup) {
  if (current && current !== popup) current.remove();
  current = popup;
  return popup;
}

/** Lists of documents ({url, title}) become links (http and https only); other values text. */
function valueNode(v, a) {
  if (Array.isArray(v) && v.length && v.every((d) => d && typeof d === 'object' && typeof d.url === 'string')) {
    return h('ul', { class: 'documents' }, v.map((d) => h('li', {}, /^https?:\/\//.test(d.url)
      ? h('a', { href: d.url, rel: 'noopener noreferrer', target: '_blank' }, d.title || d.url)
      : (d.title || d.url))));
  }
  return fmtValue(v, a);
}

/** A definition list of `properties` with the catalogue's titles. */
export function attributeList(properties, catLayer, { skip = [], extra = [] } = {}) {
  const attrs = catLayer?.attributes ?? [];
  const dl = h('dl', { class: 'attributes' });
  const done = new Set(skip);
  for (const a of attrs) {
    if (done.has(a.name) || !(a.name in properties)) continue;
    done.add(a.name);
    const v = properties[a.name];
    if (v === null || v === undefined || v === '') continue;
    dl.append(h('dt', {}, tr(a.title)), h('dd', {}, valueNode(v, a)));
  }
  // Derived values ([title, value]) that are not attributes of the layer.
  for (const [title, v] of extra) {
    if (v !== null && v !== undefined) dl.append(h('dt', {}, title), h('dd', {}, fmtValue(v)));
  }
  return dl;
}

/** Opens a popup for a rendered feature `f` at `lngLat`. */
export function featurePopup(map, cat, f, lngLat) {
  const id = layerOf(f.layer);
  const catLayer = cat.get(id);
  const body = h('div', { class: 'popup-body' });
  const title = h('h3', {}, tr(catLayer?.title) || id);
  const content = h('div', {}, popupContent(f, catLayer));
  body.append(title, content);
  const popup = only(new maplibregl.Popup({ maxWidth: '340px', focusAfterOpen: true }).setLngLat(lngLat).setDOMContent(body).addTo(map));
  if (f.properties?.count !== undefined) {
    return popup;
  }
  if (f.id !== undefined && f.id !== null) {
    api(`/ogc/collections/${encodeURIComponent(id)}/items/${encodeURIComponent(f.id)}`)
      .then((feature) => {
        const label = catLayer?.label ? feature.properties?.[catLayer.label] : null;
        if (label) title.textContent = `${tr(catLayer?.title)}: ${label}`;
        replace(content, attributeList(feature.properties ?? {}, catLayer));
      })
      .catch(() => { /* the tile's attributes stay */ });
  }
  return popup;
}

function popupContent(f, catLayer) {
  if (f.properties?.count !== undefined) {
    return h('p', {}, t('popup.cluster', { n: f.properties.count }));
  }
  return attributeList(f.properties ?? {}, catLayer);
}

/** Opens a popup for feature `id` of `layer`, read from OGC API – Features, at `lngLat`. */
export async function itemPopup(map, cat, layer, id, lngLat) {
  const catLayer = cat.get(layer);
  const feature = await api(`/ogc/collections/${encodeURIComponent(layer)}/items/${encodeURIComponent(id)}`);
  const label = catLayer?.label ? feature.properties?.[catLayer.label] : null;
  const body = h('div', { class: 'popup-body' },
    h('h3', {}, label ? `${tr(catLayer?.title)}: ${label}` : tr(catLayer?.title) || layer),
    attributeList(feature.properties ?? {}, catLayer));
  return only(new maplibregl.Popup({ maxWidth: '340px' }).setLngLat(lngLat).setDOMContent(body).addTo(map));
}

/** The topmost overlay feature under a point, or null. */
export function featureAt(map, point) {
  const layers = visibleOverlayStyleLayers(map);
  if (!layers.length) return null;
  const box = [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
  const hits = map.queryRenderedFeatures(box, { layers });
  // Points over polygons: the smallest thing under the cursor wins.
  return hits.find((f) => f.layer.type === 'circle') ?? hits[0] ?? null;
}

/** Default click behaviour: a popup for the feature clicked; clusters zoom in. */
export function enablePopups(map, cat, { enabled = () => true } = {}) {
  map.on('click', (e) => {
    if (!enabled()) return;
    const f = featureAt(map, e.point);
    if (!f) return;
    if (f.properties?.count !== undefined && f.properties.count > 1 && map.getZoom() < 15) {
      map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 15) });
    }
    featurePopup(map, cat, f, e.lngLat);
  });
  map.on('mousemove', (e) => {
    map.getCanvas().style.cursor = enabled() && featureAt(map, e.point) ? 'pointer' : '';
  });
}
