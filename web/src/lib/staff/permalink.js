// Permalinks of the staff maps: the view as `#map=zoom/lat/lon` in the hash
// (the form staff/map.js reads at start, as OpenStreetMap writes it) and
// what is selected as query parameters (`?layer=…&feature=…`), rewritten
// with replaceState as the user moves, so a reload or a shared link opens
// the same place. The public map's lib/permalink.js writes another form
// (`#zoom=…&lat=…&lon=…&layers=…`) built on its overlay's layer switches,
// which a staff map does not have.

/** `{center: [lon, lat], zoom}` of a `#map=zoom/lat/lon` hash, or null. */
export function viewFromHash(hash = location.hash) {
  const m = /(?:^#|&)map=([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)(?:&|$)/.exec(hash);
  if (!m) return null;
  const [zoom, lat, lon] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ok = [zoom, lat, lon].every(Number.isFinite) && zoom <= 24 && Math.abs(lat) <= 85.06 && Math.abs(lon) <= 180;
  return ok ? { center: [lon, lat], zoom } : null;
}

/** `map=zoom/lat/lon` of the map's view, with decimals enough for its zoom (~ a pixel). */
export function viewParam(map) {
  const zoom = map.getZoom();
  const c = map.getCenter().wrap();
  const digits = Math.min(7, Math.max(2, Math.ceil(zoom * Math.LOG10E * Math.LN2)));
  return `map=${zoom.toFixed(2)}/${c.lat.toFixed(digits)}/${c.lng.toFixed(digits)}`;
}

/**
 * Writes the permalink: `params` set in the query (null removes one), the
 * view of `map` (if given) in the hash; other hash parts are kept.
 */
export function writePermalink(map, params = {}) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') u.searchParams.delete(k);
    else u.searchParams.set(k, String(v));
  }
  if (map) {
    const rest = u.hash.replace(/^#/, '').split('&').filter((p) => p && !p.startsWith('map='));
    u.hash = [viewParam(map), ...rest].join('&');
  }
  if (u.href !== location.href) history.replaceState(history.state, '', u);
}

/**
 * Keeps the permalink in step with `map` (`params()` gives the query part)
 * and follows a hash edited by hand. Returns the writer, to call when the
 * selection changes.
 */
export function bindPermalink(map, params = () => ({})) {
  const write = () => writePermalink(map, params());
  map.on('moveend', write);
  window.addEventListener('hashchange', () => {
    const view = viewFromHash();
    if (view) map.jumpTo(view);
  });
  write();
  return write;
}
