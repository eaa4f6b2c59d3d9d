// "Find my deputy": a point (clicked or the browser's location) → the
// electoral district and its deputies with their reception hours.
import { api, showError } from '../../lib/api.js';
import { h, replace } from '../../lib/dom.js';
import { t } from '../../lib/i18n.js';
import { deputyCard } from '../../lib/deputies.js';

export async function lookupDeputy(panel, { lon, lat }) {
  try {
    const r = await api('/api/districts/lookup', { query: { lon: lon.toFixed(6), lat: lat.toFixed(6) } });
    replace(panel, h('section', { class: 'card deputy-result', 'aria-labelledby': 'deputy-heading', tabindex: '-1', dataset: { district: String(r.district.number) } },
      h('h2', { id: 'deputy-heading' }, t('deputy.district', { n: r.district.number })),
      h('p', {}, r.district.name ?? ''),
      r.deputies.length ? r.deputies.map(deputyCard) : h('p', {}, t('deputy.none')),
      h('p', {}, h('a', { href: `/districts/${encodeURIComponent(r.district.number)}` }, t('deputy.open_district')))));
    panel.firstElementChild.focus();
  } catch (err) {
    showError(err, panel);
  }
}

/** The panel's start: the hint and the geolocation button. */
export function deputyStart(panel, onPoint) {
  const geo = h('button', { type: 'button', class: 'secondary', on: { click: () => {
    if (!navigator.geolocation) {
      showError(new Error(t('deputy.geo_unavailable')), panel);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => onPoint({ lon: pos.coords.longitude, lat: pos.coords.latitude }),
      () => showError(new Error(t('deputy.geo_unavailable')), panel),
      { timeout: 10000 });
  } } }, t('deputy.geolocate'));
  replace(panel, h('section', { class: 'card' }, h('h2', {}, t('deputy.title')), h('p', { class: 'mode-hint' }, t('deputy.hint')), geo));
}
