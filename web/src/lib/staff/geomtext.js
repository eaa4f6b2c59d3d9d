// Geometry as text, so a shape can be entered without a mouse: a GeoJSON
// geometry (or a Feature holding one) or WKT in lon/lat (POINT, LINESTRING,
// POLYGON and their MULTI forms, optional `SRID=4326;` and Z/M), read into
// a 2D GeoJSON geometry; WKT out. Errors carry an i18n key and parameters
// (`geomtext.*`, registered by the page) so the message is shown in the
// user's language at the field. The server validates again on save.

export class GeometryTextError extends Error {
  constructor(key, params = {}) {
    super(`${key} ${JSON.stringify(params)}`);
    this.key = key;
    this.params = params;
  }
}

const fail = (key, params) => { throw new GeometryTextError(key, params); };

const TYPES = ['Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon'];
const WKT_TYPES = Object.fromEntries(TYPES.map((t) => [t.toUpperCase(), t]));

/** Reads GeoJSON or WKT text into a GeoJSON geometry (2D, checked). */
export function parseGeometryText(text) {
  const src = String(text ?? '').trim();
  if (!src) fail('geomtext.empty');
  const geometry = src.startsWith('{') ? fromGeoJson(src) : fromWkt(src);
  check(geometry);
  return geometry;
}

function fromGeoJson(src) {
  let v;
  try { v = JSON.parse(src); } catch (e) { fail('geomtext.json', { detail: e.message }); }
  if (v?.type === 'FeatureCollection' && Array.isArray(v.features) && v.features.length === 1) v = v.features[0];
  if (v?.type === 'Feature') v = v.geometry;
  if (!v || typeof v !== 'object' || typeof v.type !== 'string') fail('geomtext.notGeometry');
  if (!TYPES.includes(v.type)) fail('geomtext.unknownType', { type: v.type });
  if (!Array.isArray(v.coordinates)) fail('geomtext.notGeometry');
  const depth = { Point: 0, LineString: 1, MultiPoint: 1, Polygon: 2, MultiLineString: 2, MultiPolygon: 3 }[v.type];
  const walk = (c, d) => {
    if (d === 0) return position(c);
    if (!Array.isArray(c)) fail('geomtext.nesting', { type: v.type });
    return c.map((x) => walk(x, d - 1));
  };
  return { type: v.type, coordinates: walk(v.coordinates, depth) };
}

function position(c) {
  if (!Array.isArray(c) || c.length < 2 || c.length > 4 || !c.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail('geomtext.coordinate', { found: JSON.stringify(c)?.slice(0, 60) ?? String(c) });
  }
  return [c[0], c[1]];
}

// WKT: a tokenizer and a recursive descent over the six geometry types.
const TOKEN = /\s*(?:([A-Za-z]+)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([(),;=]))/y;

function tokens(src) {
  const list = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m) {
      if (/^\s*$/.test(src.slice(at))) break;
      const pos = at + src.slice(at).search(/\S/);
      fail('geomtext.syntax', { pos: pos + 1, expected: 'WKT', found: src.slice(pos, pos + 12) });
    }
    const pos = at + m[0].search(/\S/) + 1;
    if (m[1]) list.push({ kind: 'word', value: m[1].toUpperCase(), text: m[1], pos });
    else if (m[2]) list.push({ kind: 'number', value: Number(m[2]), text: m[2], pos });
    else list.push({ kind: m[3], value: m[3], pos });
  }
  return list;
}

function fromWkt(src) {
  const list = tokens(src);
  let i = 0;
  const peek = () => list[i];
  const shown = (tok) => (tok ? String(tok.text ?? tok.value) : '…');
  const expect = (kind, expected = kind) => {
    const tok = list[i];
    if (!tok || tok.kind !== kind) fail('geomtext.syntax', { pos: tok?.pos ?? src.length + 1, expected, found: shown(tok) });
    i += 1;
    return tok;
  };

  // EWKT's `SRID=4326;` prefix: only lon/lat is accepted.
  if (peek()?.kind === 'word' && peek().value === 'SRID') {
    i += 1;
    expect('=');
    const srid = expect('number', 'SRID').value;
    expect(';');
    if (srid !== 4326) fail('geomtext.srid', { srid });
  }
  const word = expect('word', 'POINT, LINESTRING, POLYGON, MULTI…');
  const m = /^(MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|POINT|LINESTRING|POLYGON)(ZM|Z|M)?$/.exec(word.value);
  if (!m) fail('geomtext.unknownType', { type: word.value });
  const type = WKT_TYPES[m[1]];
  let dims = m[2];
  if (!dims && peek()?.kind === 'word' && ['Z', 'M', 'ZM'].includes(peek().value)) {
    dims = peek().value;
    i += 1;
  }
  // Without a Z/M tag, a third or fourth ordinate is tolerated and dropped.
  const count = dims ? 2 + dims.length : null;
  if (peek()?.kind === 'word' && peek().value === 'EMPTY') fail('geomtext.emptyGeom');

  const pos = () => {
    const xs = [];
    while (peek()?.kind === 'number' && xs.length < 4) { xs.push(peek().value); i += 1; }
    if (xs.length < 2 || (count && xs.length !== count)) {
      fail('geomtext.syntax', { pos: peek()?.pos ?? src.length + 1, expected: count === 3 ? 'x y z' : count === 4 ? 'x y z m' : 'lon lat', found: shown(peek()) });
    }
    return [xs[0], xs[1]];
  };
  const list_ = (item) => {
    expect('(');
    const out = [item()];
    while (peek()?.kind === ',') { i += 1; out.push(item()); }
    expect(')', ') ,');
    return out;
  };
  const point = () => { expect('('); const p = pos(); expect(')'); return p; };
  // MULTIPOINT takes both `(1 2, 3 4)` and `((1 2), (3 4))`.
  const multiPointItem = () => (peek()?.kind === '(' ? point() : pos());
  const line = () => list_(pos);
  const polygon = () => list_(line);
  const coordinates = {
    Point: point,
    LineString: line,
    Polygon: polygon,
    MultiPoint: () => list_(multiPointItem),
    MultiLineString: () => list_(line),
    MultiPolygon: () => list_(polygon),
  }[type]();
  if (peek()?.kind === ';') i += 1;
  if (i < list.length) fail('geomtext.syntax', { pos: list[i].pos, expected: 'end', found: shown(list[i]) });
  return { type, coordinates };
}

/** Shape checks the server would make too, said here at the field. */
function check(g) {
  const parts = g.type.startsWith('Multi') ? g.coordinates : [g.coordinates];
  const base = g.type.replace(/^Multi/, '');
  if (!parts.length) fail('geomtext.emptyGeom');
  const inRange = ([x, y]) => {
    if (Math.abs(x) > 180 || Math.abs(y) > 90) fail('geomtext.range', { lon: x, lat: y });
  };
  for (const part of parts) {
    if (base === 'Point') inRange(part);
    if (base === 'LineString') {
      if (part.length < 2) fail('geomtext.lineShort');
      part.forEach(inRange);
    }
    if (base === 'Polygon') {
      if (!part.length) fail('geomtext.emptyGeom');
      for (const ring of part) {
        if (ring.length < 4) fail('geomtext.ringShort');
        const [a, b] = [ring[0], ring[ring.length - 1]];
        if (a[0] !== b[0] || a[1] !== b[1]) fail('geomtext.ringOpen', { first: `${a[0]} ${a[1]}`, last: `${b[0]} ${b[1]}` });
        ring.forEach(inRange);
      }
    }
  }
}

/**
 * `geometry` in the type a layer stores (`layerType` as the registry says:
 * Point, MultiPolygon, Geometry…): a single part becomes a one-part Multi*
 * and a one-part Multi* a single one; any other mismatch is an error.
 */
export function fitLayerType(geometry, layerType) {
  if (layerType === 'Geometry' || geometry.type === layerType) return geometry;
  if (layerType === `Multi${geometry.type}`) return { type: layerType, coordinates: [geometry.coordinates] };
  if (geometry.type === `Multi${layerType}` && geometry.coordinates.length === 1) {
    return { type: layerType, coordinates: geometry.coordinates[0] };
  }
  const expected = layerType.startsWith('Multi') ? `${layerType} / ${layerType.slice(5)}` : layerType;
  return fail('geomtext.wrongType', { expected, found: geometry.type });
}

const num = (x) => String(Math.round(x * 1e9) / 1e9);
const wktPos = (c) => `${num(c[0])} ${num(c[1])}`;
const wktList = (items, f) => `(${items.map(f).join(', ')})`;
const WKT_BODY = {
  Point: (c) => `(${wktPos(c)})`,
  LineString: (c) => wktList(c, wktPos),
  Polygon: (c) => wktList(c, (r) => wktList(r, wktPos)),
  MultiPoint: (c) => wktList(c, (p) => `(${wktPos(p)})`),
  MultiLineString: (c) => wktList(c, (l) => wktList(l, wktPos)),
  MultiPolygon: (c) => wktList(c, (p) => wktList(p, (r) => wktList(r, wktPos))),
};

/** WKT of a GeoJSON geometry (lon/lat, at most 9 decimals), '' for none. */
export function geometryToWkt(geometry) {
  if (!geometry || !WKT_BODY[geometry.type]) return '';
  return `${geometry.type.toUpperCase()} ${WKT_BODY[geometry.type](geometry.coordinates)}`;
}
