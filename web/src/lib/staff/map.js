// The staff pages' map: MapLibre with the portal's basemap drawn from OUR
// base layers' vector tiles (no internet, no external basemap by default).
// The portal's map factory (shared with the public pages) sets MapLibre's
// worker URL; its basemap is the one every page draws.
import { createMap as createPortalMap, maplibregl } from '../map.js';
import { get, token } from './api.js';
import { viewFromHash } from './permalink.js';

const BASE = ['city_boundary', 'admin_districts', 'water', 'streets', 'buildings'];

/** The style of our own basemap over the composite tile of the base layers. */
export function basemapStyle(origin = location.origin, available = BASE) {
  const ids = BASE.filter((id) => available.includes(id));
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0ea' } }];
  if (ids.length) {
    const src = 'base';
    const has = (id) => ids.includes(id);
    if (has('city_boundary')) {
      layers.push({ id: 'city-fill', type: 'fill', source: src, 'source-layer': 'city_boundary', paint: { 'fill-color': '#f8f7f2' } });
      layers.push({ id: 'city-line', type: 'line', source: src, 'source-layer': 'city_boundary', paint: { 'line-color': '#7a6f5a', 'line-width': 2 } });
    }
    if (has('admin_districts')) {
      layers.push({ id: 'districts-line', type: 'line', source: src, 'source-layer': 'admin_districts', paint: { 'line-color': '#a99e86', 'line-width': 1, 'line-dasharray': [3, 2] } });
    }
    if (has('water')) {
      layers.push({ id: 'water', type: 'fill', source: src, 'source-layer': 'water', paint: { 'fill-color': '#a9cbe8' } });
    }
    if (has('streets')) {
      layers.push({ id: 'streets', type: 'line', source: src, 'source-layer': 'streets', paint: { 'line-color': '#c9c3b5', 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.5, 16, 4, 19, 10] } });
    }
    if (has('buildings')) {
      layers.push({ id: 'buildings', type: 'fill', source: src, 'source-layer': 'buildings', paint: { 'fill-color': '#d9d3c7', 'fill-outline-color': '#bdb5a5' } });
    }
    return {
      version: 8,
      sources: { base: { type: 'vector', tiles: [`${origin}/tiles/${ids.join(',')}/{z}/{x}/{y}.mvt`], minzoom: 0, maxzoom: 16 } },
      layers,
    };
  }
  return { version: 8, sources: {}, layers };
}


/**
 * A map in `container`, resolved once its style is loaded: the portal's
 * shared basemap (web/src/lib/map.js, styles/basemap.json from our base
 * layers) without the public overlay; our own basemap style if that fails.
 * The view comes from `#map=zoom/lat/lon` when present, else `bounds`.
 */
export async function createMap(container, { bounds } = {}) {
  const view = viewFromHash();
  let map;
  try {
    map = await createPortalMap(container, { overlay: null, generic: false, view, bounds: bounds ?? null });
  } catch {
    map = await ownMap(container, view, bounds);
  }
  map.getCanvas().setAttribute('aria-label', container.getAttribute('aria-label') ?? 'map');
  return map;
}

async function ownMap(container, view, bounds) {
  let available = BASE;
  try {
    const cat = await get('/tiles');
    available = (cat.layers ?? []).map((l) => l.id);
  } catch { /* the basemap falls back to a plain background */ }
  const map = new maplibregl.Map({
    container,
    style: basemapStyle(location.origin, available),
    center: view?.center ?? [0, 0],
    zoom: view?.zoom ?? 1,
    attributionControl: false,
    // Tiles of restricted layers need the signed-in user's token.
    transformRequest: (url) => {
      const tok = token();
      if (tok && url.startsWith(location.origin)) return { url, headers: { Authorization: `Bearer ${tok}` } };
      return { url };
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-left');
  await new Promise((resolve) => map.once('load', resolve));
  if (!view) {
    let b = bounds;
    if (!b) {
      try {
        b = (await get('/tiles/city_boundary')).bounds;
      } catch { /* stay at the world view */ }
    }
    if (b && b.every(Number.isFinite)) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
  }
  return map;
}

/** The extent of a GeoJSON object as [minx, miny, maxx, maxy] (or null). */
export function extentOf(geojson) {
  let b = null;
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      b = b ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])] : [c[0], c[1], c[0], c[1]];
    } else c.forEach(visit);
  };
  const geom = (g) => {
    if (!g) return;
    if (g.type === 'GeometryCollection') g.geometries.forEach(geom);
    else visit(g.coordinates);
  };
  if (geojson?.type === 'FeatureCollection') geojson.features.forEach((f) => geom(f.geometry));
  else if (geojson?.type === 'Feature') geom(geojson.geometry);
  else geom(geojson);
  return b;
}

export { maplibregl };
