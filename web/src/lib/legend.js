// The layer switcher with a legend under each layer, read from the style
// itself (a `match` on an attribute becomes one swatch per value), so the
// legend can never disagree with what is drawn.
import { h, nextId } from './dom.js';
import { t, tr, valueLabel } from './i18n.js';
import { isLayerVisible, layerOf, setLayerVisible } from './map.js';

const COLOUR_PROP = { fill: 'fill-color', line: 'line-color', circle: 'circle-color' };

/** Legend entries [{label, colour, shape}] of one registry layer in the map's style. */
export function legendEntries(map, id, catLayer) {
  const styleLayers = map.getStyle().layers.filter((l) => layerOf(l) === id && l.metadata?.['geoportal:legend'] !== false);
  const main = styleLayers.find((l) => l.type === 'fill') ?? styleLayers.find((l) => l.type === 'circle') ?? styleLayers[0];
  if (!main) return [];
  const shape = main.type;
  const paint = main.paint?.[COLOUR_PROP[main.type]];
  if (Array.isArray(paint) && paint[0] === 'match' && Array.isArray(paint[1]) && paint[1][0] === 'get') {
    const out = [];
    for (let i = 2; i + 1 < paint.length; i += 2) {
      const values = Array.isArray(paint[i]) ? paint[i] : [paint[i]];
      out.push({ label: values.map(valueLabel).join(', '), colour: paint[i + 1], shape });
    }
    return out;
  }
  if (Array.isArray(paint) && paint[0] === 'interpolate') {
    const out = [];
    for (let i = 3; i + 1 < paint.length; i += 2) out.push({ label: `≥ ${paint[i]}`, colour: paint[i + 1], shape });
    return out;
  }
  return [{ label: tr(catLayer?.title) || id, colour: typeof paint === 'string' ? paint : '#888', shape }];
}

function swatch(colour, shape) {
  const el = h('span', { class: `swatch swatch-${shape}`, 'aria-hidden': 'true' });
  el.style.setProperty('--swatch', colour);
  return el;
}

/**
 * The panel: one checkbox per overlay layer (topmost first), its legend
 * under it. `onChange()` is called after a layer is switched.
 */
export function layerSwitcher(map, cat, { onChange = () => {} } = {}) {
  const list = h('ul', { class: 'layer-list' });
  const ids = [...map.geoportal.overlayIds].reverse();
  const notes = [];
  for (const id of ids) {
    const layer = cat.get(id);
    const cbId = nextId('layer');
    const checkbox = h('input', {
      type: 'checkbox', id: cbId, checked: isLayerVisible(map, id), dataset: { layer: id },
      on: { change: (e) => { setLayerVisible(map, id, e.target.checked); legend.hidden = !e.target.checked; onChange(); } },
    });
    const note = h('span', { class: 'layer-note' });
    notes.push([note, layer?.minzoom ?? 0]);
    const legend = h('ul', { class: 'legend', hidden: !checkbox.checked, 'aria-label': `${t('layers.legend')}: ${tr(layer?.title)}` },
      legendEntries(map, id, layer).map((e) => h('li', {}, swatch(e.colour, e.shape), h('span', {}, e.label))));
    list.append(h('li', { class: 'layer-item' },
      h('label', { for: cbId, class: 'layer-label', title: tr(layer?.description) }, checkbox, ' ', tr(layer?.title) || id, ' ', note),
      legend));
  }
  const updateNotes = () => {
    const z = map.getZoom();
    for (const [note, minzoom] of notes) note.textContent = z < minzoom ? `(${t('layers.zoom_in', { z: minzoom })})` : '';
  };
  map.on('zoomend', updateNotes);
  updateNotes();
  return h('section', { class: 'panel layers-panel', 'aria-labelledby': 'layers-heading' },
    h('h2', { id: 'layers-heading' }, t('layers.title')), list);
}

/** Syncs the switcher's checkboxes with the map (after a permalink set the layers). */
export function syncSwitcher(root, map) {
  for (const cb of root.querySelectorAll('input[data-layer]')) {
    cb.checked = isLayerVisible(map, cb.dataset.layer);
    const legend = cb.closest('li')?.querySelector('.legend');
    if (legend) legend.hidden = !cb.checked;
  }
}
