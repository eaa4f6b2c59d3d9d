// The map factory: MapLibre with our basemap (styles/basemap.json, drawn
// from our own base layers — no internet) or an external basemap when the
// server is configured with one, plus overlay layers (styles/public.json)
// whose sources are our /tiles TileJSON. Layers the requester may not see
// (GET /api/layers) are dropped; published layers missing from the style
// get a generic style, so a new layers/*.toml shows up without a code change.
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// MapLibre 6 finds its worker next to its own module; once bundled, the
// worker is an asset of ours, served from our origin (CSP worker-src 'self').
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { api } from './api.js';
import { lang, t } from './i18n.js';

maplibregl.setWorkerUrl(workerUrl);

export { maplibregl };

let portalPromise = null;
let cataloguePromise = null;

/** GET /api/portal, once per page. */
export function portal() {
  portalPromise ??= api('/api/portal');
  return portalPromise;
}

/** The layers the requester may see (GET /api/layers) as a Map by id, once per page. */
export function catalogue() {
  cataloguePromise ??= api('/api/layers').then((d) => new Map(d.layers.map((l) => [l.id, l])));
  return cataloguePromise;
}

/**
 * Tile URLs are written with the server's public URL; the page talks to the
 * server it was loaded from, so the origin is rewritten to the page's.
 * (`{z}` must survive, so no URL parsing here.)
 */
export function sameOrigin(url) {
  return url.replace(/^https?:\/\/[^/]+/, location.origin);
}

const tileJsonCache = new Map();
export function tileJson(layers) {
  const key = Array.isArray(layers) ? layers.join(',') : layers;
  if (!tileJsonCache.has(key)) tileJsonCache.set(key, api(`/tiles/${key}`));
  return tileJsonCache.get(key);
}

/** A vector source of our tiles, inlined from its TileJSON. */
async function resolveSource(src, { keepBounds }) {
  const path = src.url.replace(/^https?:\/\/[^/]+/, '');
  const key = path.replace(/^\/tiles\//, '');
  const tj = await tileJson(key);
  const out = {
    type: 'vector',
    tiles: tj.tiles.map(sameOrigin),
    minzoom: tj.minzoom ?? 0,
    maxzoom: Math.min(tj.maxzoom ?? 22, 22),
  };
  if (tj.attribution) out.attribution = tj.attribution;
  if (keepBounds && Array.isArray(tj.bounds)) out.bounds = tj.bounds;
  return out;
}

function isOurs(src) {
  return src.type === 'vector' && typeof src.url === 'string' && /^(https?:\/\/[^/]+)?\/tiles\//.test(src.url);
}

// MapLibre's own control labels in Ukrainian (its defaults are English).
const UK_LOCALE = {
  'AttributionControl.ToggleAttribution': 'Показати або сховати джерела',
  'AttributionControl.MapFeedback': 'Відгук про мапу',
  'FullscreenControl.Enter': 'На весь екран',
  'FullscreenControl.Exit': 'Вийти з повноекранного режиму',
  'GeolocateControl.FindMyLocation': 'Знайти моє місце',
  'GeolocateControl.LocationNotAvailable': 'Місце недоступне',
  'LogoControl.Title': 'MapLibre',
  'Map.Title': 'Мапа',
  'Marker.Title': 'Позначка',
  'NavigationControl.ResetBearing': 'Повернути на північ',
  'NavigationControl.ZoomIn': 'Наблизити',
  'NavigationControl.ZoomOut': 'Віддалити',
  'Popup.Close': 'Закрити',
  'ScaleControl.Feet': 'фт',
  'ScaleControl.Meters': 'м',
  'ScaleControl.Kilometers': 'км',
  'ScaleControl.Miles': 'миль',
  'ScaleControl.NauticalMiles': 'мор. миль',
  'CooperativeGesturesHandler.WindowsHelpText': 'Утримуйте Ctrl і прокручуйте, щоб змінити масштаб',
  'CooperativeGesturesHandler.MacHelpText': 'Утримуйте ⌘ і прокручуйте, щоб змінити масштаб',
  'CooperativeGesturesHandler.MobileHelpText': 'Рухайте мапу двома пальцями',
};

const PALETTE = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#1f78b4'];

/** A plain style for a published layer that no style file describes. */
function genericLayers(layer, i) {
  const colour = PALETTE[i % PALETTE.length];
  const meta = { 'geoportal:layer': layer.id, 'geoportal:generic': true };
  const base = { source: layer.id, 'source-layer': layer.id, metadata: meta, minzoom: layer.minzoom };
  const g = layer.geometry_type;
  const out = [];
  if (['Polygon', 'MultiPolygon', 'Geometry'].includes(g)) {
    out.push({ ...base, id: `${layer.id}-fill`, type: 'fill', filter: ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]], paint: { 'fill-color': colour, 'fill-opacity': 0.35 } });
    out.push({ ...base, id: `${layer.id}-outline`, type: 'line', filter: ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]], paint: { 'line-color': colour, 'line-width': 1.5 } });
  }
  if (['LineString', 'MultiLineString', 'Geometry'].includes(g)) {
    out.push({ ...base, id: `${layer.id}-line`, type: 'line', filter: ['in', ['geometry-type'], ['literal', ['LineString', 'MultiLineString']]], paint: { 'line-color': colour, 'line-width': 2.5 } });
  }
  if (['Point', 'MultiPoint', 'Geometry'].includes(g)) {
    out.push({ ...base, id: `${layer.id}-circle`, type: 'circle', filter: ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]], paint: { 'circle-color': colour, 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  }
  return out;
}

/** Whether an external basemap URL is a raster tile template rather than a style. */
export function isTileTemplate(url) {
  return ['{z}', '{x}', '{y}'].every((part) => url.includes(part)) || url.includes('{quadkey}');
}

/**
 * A basemap style around an external raster tile template. Labels of our
 * overlay still use our own glyphs.
 */
export function rasterBasemap(template) {
  return {
    version: 8,
    name: 'External raster basemap',
    glyphs: '/fonts/{fontstack}/{range}.pbf',
    sources: { basemap: { type: 'raster', tiles: [template], tileSize: 256, maxzoom: 19 } },
    layers: [{ id: 'basemap-raster', type: 'raster', source: 'basemap' }],
  };
}

/** The registry layer a style layer draws, or null for the background and foreign layers. */
export function layerOf(styleLayer) {
  return styleLayer?.metadata?.['geoportal:layer'] ?? null;
}

/**
 * Builds the style: the basemap and the overlay, sources inlined, layers the
 * requester cannot see removed. `only` restricts the overlay to these layer
 * ids; `generic` adds published thematic layers missing from the overlay.
 * Returns { style, overlayIds } — overlayIds in drawing order.
 */
export async function buildStyle({ overlay = 'public.json', only = null, generic = true } = {}) {
  const [p, cat] = await Promise.all([portal(), catalogue()]);
  let base;
  if (p.basemap_url && isTileTemplate(p.basemap_url)) {
    base = rasterBasemap(p.basemap_url);
  } else if (p.basemap_url) {
    // Another origin: a plain request, never our bearer token.
    const res = await fetch(p.basemap_url, { credentials: 'omit' });
    if (!res.ok) throw new Error(`${p.basemap_url}: HTTP ${res.status}`);
    base = await res.json();
  } else {
    base = await api('/styles/basemap.json');
  }
  const over = overlay ? await api(`/styles/${overlay}`) : { sources: {}, layers: [] };
  const style = {
    version: 8,
    name: over.name ?? base.name,
    sources: {},
    layers: [],
  };
  // Our glyph URL is relative; MapLibre needs it absolute (and a URL object
  // would escape its {fontstack}/{range} placeholders).
  if (base.glyphs) style.glyphs = base.glyphs.startsWith('/') ? `${location.origin}${base.glyphs}` : base.glyphs;
  if (base.sprite) style.sprite = base.sprite;

  const keep = async (sources, { overlay: isOverlay }) => {
    const entries = await Promise.all(Object.entries(sources).map(async ([id, src]) => {
      if (!isOurs(src)) return [id, src];
      const layerIds = src.url.replace(/^.*\/tiles\//, '').split(',');
      if (!layerIds.every((l) => cat.has(l))) return [id, null];
      if (isOverlay && only && !layerIds.some((l) => only.includes(l))) return [id, null];
      try {
        return [id, await resolveSource(src, { keepBounds: !isOverlay })];
      } catch {
        return [id, null];
      }
    }));
    for (const [id, src] of entries) if (src) style.sources[id] = src;
  };
  await keep(base.sources ?? {}, { overlay: false });
  await keep(over.sources ?? {}, { overlay: true });
  for (const l of base.layers ?? []) {
    if (l.source && !style.sources[l.source]) continue;
    // Labels of layers with English names (`name_en`) follow the page's language.
    if (l.metadata?.['geoportal:label'] && lang() === 'en') {
      style.layers.push({ ...l, layout: { ...l.layout, 'text-field': ['coalesce', ['get', 'name_en'], ['get', 'name']] } });
      continue;
    }
    style.layers.push(l);
  }
  const overlayIds = [];
  for (const l of over.layers ?? []) {
    if (l.source && !style.sources[l.source]) continue;
    style.layers.push(l);
    const id = layerOf(l);
    if (id && !overlayIds.includes(id)) overlayIds.push(id);
  }
  if (generic) {
    const styled = new Set(style.layers.map(layerOf).filter(Boolean));
    let i = 0;
    for (const layer of cat.values()) {
      if (layer.group !== 'thematic' || layer.geometry_type === 'None' || styled.has(layer.id)) continue;
      if (only && !only.includes(layer.id)) continue;
      try {
        style.sources[layer.id] = await resolveSource({ url: `/tiles/${layer.id}` }, { keepBounds: false });
      } catch {
        continue;
      }
      style.layers.push(...genericLayers(layer, i));
      overlayIds.push(layer.id);
      i += 1;
    }
  }
  return { style, overlayIds };
}

/** The extent of the city (TileJSON bounds of city_boundary), or null. */
export async function cityBounds() {
  try {
    const tj = await tileJson('city_boundary');
    return Array.isArray(tj.bounds) ? tj.bounds : null;
  } catch {
    return null;
  }
}

/**
 * Creates a map in `container` and resolves once the style is loaded.
 * `view` is {center:[lon,lat], zoom} (e.g. from a permalink) or absent:
 * then the map fits `bounds` (or the city).
 */
export async function createMap(container, { overlay = 'public.json', only = null, view = null, bounds = null, generic = true } = {}) {
  const { style, overlayIds } = await buildStyle({ overlay, only, generic });
  const fit = bounds ?? (await cityBounds());
  const opts = {
    container,
    style,
    attributionControl: { compact: true },
    // Keeps the canvas readable for printing the site passport and for tests.
    canvasContextAttributes: { preserveDrawingBuffer: true },
    maxZoom: 20,
  };
  if (lang() === 'uk') opts.locale = UK_LOCALE;
  if (view) {
    opts.center = view.center;
    opts.zoom = view.zoom;
  } else if (fit) {
    opts.bounds = fit;
    opts.fitBoundsOptions = { padding: 20 };
  } else {
    opts.center = [30.52, 50.45];
    opts.zoom = 11;
  }
  const map = new maplibregl.Map(opts);
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.getCanvas().setAttribute('aria-label', t('app.title'));
  await new Promise((resolve) => {
    if (map.loaded()) resolve();
    else map.once('load', resolve);
  });
  // The attribution starts folded so it does not cover the map.
  map.getContainer().querySelector('.maplibregl-ctrl-attrib')?.classList.remove('maplibregl-compact-show');
  map.geoportal = { overlayIds };
  return map;
}

/** Style layers drawing registry layer `id`. */
export function styleLayersOf(map, id) {
  return map.getStyle().layers.filter((l) => layerOf(l) === id).map((l) => l.id);
}

export function setLayerVisible(map, id, on) {
  for (const sl of styleLayersOf(map, id)) map.setLayoutProperty(sl, 'visibility', on ? 'visible' : 'none');
}

export function isLayerVisible(map, id) {
  const ids = styleLayersOf(map, id);
  return ids.length > 0 && ids.some((sl) => map.getLayoutProperty(sl, 'visibility') !== 'none');
}

/** The style layers of the overlay that are switched on. */
export function visibleOverlayStyleLayers(map) {
  const ids = new Set(map.geoportal.overlayIds);
  return map.getStyle().layers
    .filter((l) => ids.has(layerOf(l)) && l.layout?.visibility !== 'none')
    .map((l) => l.id);
}

/**
 * The features of the overlay drawn now (one per layer and id), as
 * {layer, id, properties, geometry}: what the table view lists.
 */
export function drawnFeatures(map, { layers = null } = {}) {
  const styleLayers = visibleOverlayStyleLayers(map).filter((sl) => !layers || layers.includes(layerOf(map.getLayer(sl))));
  if (!styleLayers.length) return [];
  const seen = new Map();
  for (const f of map.queryRenderedFeatures({ layers: styleLayers })) {
    const layer = layerOf(f.layer);
    const key = `${layer}/${f.id ?? JSON.stringify(f.properties)}`;
    if (!seen.has(key)) seen.set(key, { layer, id: f.id, properties: f.properties, geometry: f.geometry });
  }
  return [...seen.values()];
}

/** Fits the map to a GeoJSON geometry. */
export function fitGeometry(map, geometry, opts = {}) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => {
    if (typeof c[0] === 'number') b.extend(c);
    else c.forEach(walk);
  };
  if (geometry?.coordinates) walk(geometry.coordinates);
  else if (geometry?.geometries) geometry.geometries.forEach((g) => walk(g.coordinates));
  if (!b.isEmpty()) map.fitBounds(b, { padding: 40, maxZoom: 17, ...opts });
}
