// Following an appeal by its private link (`/?track=<token>`): its status,
// history, deadline and answer; the author may rate the answer and
// withdraw consent to publication.
import { api, showError } from '../../lib/api.js';
import { h, replace } from '../../lib/dom.js';
import { fmtDate, t, valueLabel } from '../../lib/i18n.js';
import { maplibregl } from '../../lib/map.js';

export async function trackPanel(panel, map, token) {
  let a;
  try {
    a = await api(`/api/appeals/track/${encodeURIComponent(token)}`);
  } catch (err) {
    showError(err, panel);
    return;
  }
  const path = `/api/appeals/track/${encodeURIComponent(token)}`;
  const dl = h('dl', { class: 'attributes' },
    h('dt', {}, t('appeal.number')), h('dd', { class: 'public-number' }, a.public_number),
    h('dt', {}, t('track.status')), h('dd', { class: 'status', dataset: { status: a.status } }, valueLabel(a.status)),
    h('dt', {}, t('appeal.category')), h('dd', {}, a.category),
    h('dt', {}, t('track.created')), h('dd', {}, fmtDate(a.created_at)),
    a.due_at ? [h('dt', {}, t('appeal.due')), h('dd', {}, fmtDate(a.due_at))] : null,
    a.routing?.executor ? [h('dt', {}, t('appeal.executor')), h('dd', {}, a.routing.executor.name)] : null);
  const extra = [];
  if (a.answer) extra.push(h('h3', {}, t('track.answer')), h('p', {}, a.answer));
  if (a.reject_reason) extra.push(h('h3', {}, t('track.reject_reason')), h('p', {}, a.reject_reason));
  if (['answered', 'closed'].includes(a.status)) {
    const select = h('select', { 'aria-label': t('track.rate') }, [5, 4, 3, 2, 1].map((n) => h('option', { value: String(n), selected: a.rating === n }, '★'.repeat(n))));
    const out = h('span', { 'aria-live': 'polite' });
    extra.push(h('form', { class: 'toolbar', on: { submit: async (e) => {
      e.preventDefault();
      try {
        await api(`${path}/rating`, { method: 'POST', body: { rating: Number(select.value) } });
        out.textContent = t('track.rated');
      } catch (err) { showError(err); }
    } } }, h('label', {}, t('track.rate'), ' ', select), h('button', { type: 'submit' }, t('track.rate_send')), out));
  }
  if (a.is_public) {
    const out = h('p', { 'aria-live': 'polite' });
    extra.push(h('button', { type: 'button', class: 'secondary', on: { click: async (e) => {
      try {
        await api(`${path}/withdraw-consent`, { method: 'POST' });
        out.textContent = t('track.withdrawn');
        e.target.disabled = true;
      } catch (err) { showError(err); }
    } } }, t('track.withdraw')), out);
  }
  replace(panel, h('section', { class: 'card track', 'aria-labelledby': 'track-heading' },
    h('h2', { id: 'track-heading' }, t('track.title')),
    dl,
    h('p', {}, a.description ?? ''),
    h('h3', {}, t('track.history')),
    h('ol', { class: 'history' }, (a.history ?? []).map((s) => h('li', {}, `${fmtDate(s.at)} — ${valueLabel(s.status)}`))),
    extra));
  if (Number.isFinite(a.lon) && Number.isFinite(a.lat)) {
    new maplibregl.Marker({ color: '#b3261e' }).setLngLat([a.lon, a.lat]).addTo(map);
    map.jumpTo({ center: [a.lon, a.lat], zoom: Math.max(map.getZoom(), 16) });
  }
}
