// Drawing and reshaping geometry with terra-draw on the MapLibre map. A
// Multi* geometry is edited as one terra-draw feature per part and joined
// again when saved.
import {
  TerraDraw, TerraDrawLineStringMode, TerraDrawPointMode, TerraDrawPolygonMode, TerraDrawSelectMode,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';

const MODE = {
  Point: 'point', MultiPoint: 'point',
  LineString: 'linestring', MultiLineString: 'linestring',
  Polygon: 'polygon', MultiPolygon: 'polygon', Geometry: 'polygon',
};
const PART = { point: 'Point', linestring: 'LineString', polygon: 'Polygon' };

// terra-draw refuses coordinates finer than its precision (9 decimals).
const round = (c) => (typeof c[0] === 'number' ? c.map((x) => Math.round(x * 1e9) / 1e9) : c.map(round));

const editable = { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } };

export class Drawing {
  constructor(map, geometryType, { onFinish } = {}) {
    this.type = geometryType;
    this.mode = MODE[geometryType] ?? 'polygon';
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map }),
      modes: [
        new TerraDrawPolygonMode(),
        new TerraDrawLineStringMode(),
        new TerraDrawPointMode(),
        new TerraDrawSelectMode({ flags: { polygon: editable, linestring: editable, point: { feature: { draggable: true } } } }),
      ],
    });
    this.draw.start();
    this.draw.on('finish', (id, ctx) => {
      if (ctx?.action !== 'draw') return;
      // A finished part is selected at once, so its vertices can be dragged.
      this.draw.setMode('select');
      this.draw.selectFeature(id);
      onFinish?.(id);
    });
  }

  /** Another layer: its geometry type decides the drawing mode. */
  setType(geometryType) {
    this.stop();
    this.type = geometryType;
    this.mode = MODE[geometryType] ?? 'polygon';
  }

  /** Starts drawing a new part (clearing the old ones unless `keep`). */
  start(keep = false) {
    if (!keep) {
      this.draw.clear();
      this.loaded = null;
    }
    this.draw.setMode(this.mode);
  }

  /** Loads a GeoJSON geometry to reshape. */
  load(geometry) {
    this.draw.clear();
    if (!geometry) return;
    const multi = geometry.type.startsWith('Multi');
    const parts = multi ? geometry.coordinates : [geometry.coordinates];
    const type = multi ? geometry.type.slice(5) : geometry.type;
    const mode = { Point: 'point', LineString: 'linestring', Polygon: 'polygon' }[type];
    if (!mode) return;
    const features = parts.map((coordinates) => ({
      id: this.draw.getFeatureId(),
      type: 'Feature',
      geometry: { type, coordinates: round(coordinates) },
      properties: { mode },
    }));
    this.draw.addFeatures(features);
    this.draw.setMode('select');
    this.loaded = JSON.stringify(this.geometry());
  }

  /** Whether the geometry differs from what `load` put in (or was drawn anew). */
  changed() {
    return JSON.stringify(this.geometry()) !== this.loaded;
  }

  stop() {
    this.draw.clear();
    this.draw.setMode('static');
  }

  isDrawing() {
    return this.draw.getMode() === this.mode;
  }

  /** The drawn geometry in the layer's type, or null when nothing is drawn. */
  geometry() {
    const parts = this.draw.getSnapshot()
      .filter((f) => f.properties.mode === this.mode && f.geometry.type === PART[this.mode] && !f.properties.currentlyDrawing)
      .map((f) => f.geometry.coordinates);
    if (!parts.length) return null;
    if (this.type.startsWith('Multi')) return { type: this.type, coordinates: parts };
    return { type: PART[this.mode], coordinates: parts[0] };
  }
}
