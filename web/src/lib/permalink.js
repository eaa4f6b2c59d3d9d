// Permalinks of the map view: `#zoom=…&lat=…&lon=…&layers=a,b` in the
// hash, rewritten as the map moves or a layer is switched, read at start.
import { isLayerVisible, setLayerVisible } from './map.js';

export function readHash() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ''));
  const zoom = Number(p.get('zoom'));
  const lat = Number(p.get('lat'));
  const lon = Number(p.get('lon'));
  const ok = p.has('zoom') && p.has('lat') && p.has('lon') && [zoom, lat, lon].every(Number.isFinite)
    && Math.abs(lat) <= 85 && Math.abs(lon) <= 180 && zoom >= 0 && zoom <= 22;
  return {
    view: ok ? { center: [lon, lat], zoom } : null,
    layers: p.has('layers') ? p.get('layers').split(',').filter(Boolean) : null,
    params: p,
  };
}

/** The hash of the current view. */
export function viewHash(map, extra = {}) {
  const c = map.getCenter();
  const p = new URLSearchParams();
  p.set('zoom', map.getZoom().toFixed(2));
  p.set('lat', c.lat.toFixed(5));
  p.set('lon', c.lng.toFixed(5));
  p.set('layers', map.geoportal.overlayIds.filter((id) => isLayerVisible(map, id)).join(','));
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) p.set(k, v);
  return `#${p.toString().replace(/%2C/g, ',')}`;
}

/** Applies the layers of a permalink: exactly those are switched on. */
export function applyLayers(map, layers) {
  if (!layers) return;
  for (const id of map.geoportal.overlayIds) setLayerVisible(map, id, layers.includes(id));
}

/** Switches on the overlay layers whose style does not say `geoportal:default: false`. */
export function applyDefaults(map) {
  const off = new Set(map.getStyle().layers.filter((l) => l.metadata?.['geoportal:default'] === false).map((l) => l.metadata['geoportal:layer']));
  for (const id of map.geoportal.overlayIds) setLayerVisible(map, id, !off.has(id));
}

/** Keeps the hash in step with the map; returns a function to call after layer changes. */
export function bindPermalink(map) {
  const write = () => history.replaceState(null, '', `${location.pathname}${location.search}${viewHash(map)}`);
  map.on('moveend', write);
  write();
  return write;
}
