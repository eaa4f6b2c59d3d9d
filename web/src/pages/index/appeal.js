// Filing an appeal from the map: the place is the point clicked; open
// public appeals of the same category nearby are offered first (the
// resident may find theirs already reported); then the form is sent as
// multipart (the appeal JSON and up to five photos) to POST /api/appeals.
import { api, problemText, showError } from '../../lib/api.js';
import { h, nextId, replace } from '../../lib/dom.js';
import { fmtDate, lang, t, valueLabel } from '../../lib/i18n.js';
import { deputyCard } from '../../lib/deputies.js';

const KINDS = ['complaint', 'proposal', 'request', 'info_request', 'emergency'];
let servicesPromise = null;

/** Appeal categories: the Open311 service list (code, uk title, en title, group). */
function categories() {
  servicesPromise ??= api('/open311/v2/services.json');
  return servicesPromise;
}

function field(label, control, hint = null) {
  const id = control.id || nextId('f');
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint' }, hint) : null);
}

/** The page link that follows an appeal, from the API's private tracking URL. */
export function trackingPageUrl(trackingUrl) {
  const token = String(trackingUrl).split('/').pop();
  return `${location.origin}/?track=${encodeURIComponent(token)}`;
}

/**
 * Renders the filing form for `point` ({lon, lat}) into `panel`;
 * `onFiled(filed)` after a successful filing, `onCancel()` on cancel.
 */
export async function appealForm(panel, start, { onFiled, onCancel }) {
  // Another click on the map moves the place; what was typed stays.
  const point = { ...start };
  let services = [];
  try {
    services = await categories();
  } catch (err) {
    showError(err);
  }
  const groups = new Map();
  for (const s of services) {
    const g = s.group ?? '';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(s);
  }
  const catSelect = h('select', { name: 'category', required: true },
    h('option', { value: '' }, t('appeal.pick_category')),
    [...groups].map(([g, list]) => h('optgroup', { label: g }, list.map((s) => h('option', { value: s.service_code },
      lang() === 'en' && s.description ? s.description : s.service_name)))));
  const kindSelect = h('select', { name: 'kind', required: true }, KINDS.map((k) => h('option', { value: k }, valueLabel(k))));
  const description = h('textarea', { name: 'description', required: true, maxlength: '10000' });
  const address = h('input', { name: 'address', type: 'text', autocomplete: 'street-address' });
  const photos = h('input', { name: 'photos', type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true });
  const name = h('input', { name: 'name', type: 'text', required: true, autocomplete: 'name', maxlength: '200' });
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email' });
  const phone = h('input', { name: 'phone', type: 'tel', autocomplete: 'tel' });
  const consentPublic = h('input', { name: 'consent_public', type: 'checkbox' });
  const consentPd = h('input', { name: 'consent_pd', type: 'checkbox', required: true });
  const submit = h('button', { type: 'submit' }, t('appeal.submit'));
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const nearbyBox = h('div', { class: 'nearby', 'aria-live': 'polite' });
  const pointHint = h('p', { class: 'hint', 'aria-live': 'polite' });
  const showPoint = () => { pointHint.textContent = t('appeal.point', { lat: point.lat.toFixed(5), lon: point.lon.toFixed(5) }); };
  showPoint();
  const rest = h('div', { class: 'appeal-rest' },
    field(t('appeal.description'), description),
    field(t('appeal.address'), address),
    field(t('appeal.photos'), photos),
    field(t('appeal.name'), name),
    field(t('appeal.email'), email),
    field(t('appeal.phone'), phone, t('appeal.contact_hint')),
    h('label', { class: 'check' }, consentPublic, t('appeal.consent_public')),
    h('label', { class: 'check' }, consentPd, t('appeal.consent_pd')),
    formError,
    h('div', { class: 'toolbar' }, submit,
      h('button', { type: 'button', class: 'secondary', on: { click: onCancel } }, t('mode.cancel'))));

  const form = h('form', { class: 'card appeal-form', novalidate: true, 'aria-labelledby': 'appeal-heading' },
    h('h2', { id: 'appeal-heading' }, t('appeal.title')),
    pointHint,
    field(t('appeal.kind'), kindSelect),
    field(t('appeal.category'), catSelect),
    nearbyBox,
    rest);

  // Duplicates first: after a category is picked, open public appeals of it
  // around the point are listed, and the rest of the form waits for "continue".
  const checkNearby = async () => {
    replace(nearbyBox);
    rest.hidden = false;
    if (!catSelect.value) return;
    try {
      const near = await api('/api/appeals/nearby', { query: { lon: point.lon, lat: point.lat, category: catSelect.value } });
      if (!near.appeals.length && !near.non_public_count) return;
      rest.hidden = near.appeals.length > 0;
      replace(nearbyBox, h('section', { class: 'card', 'aria-labelledby': 'nearby-heading' },
        h('h3', { id: 'nearby-heading' }, t('appeal.nearby')),
        near.appeals.length ? h('p', { class: 'hint' }, t('appeal.nearby_hint')) : null,
        h('ul', {}, near.appeals.map((a) => h('li', { dataset: { appeal: a.public_number } },
          h('strong', {}, a.public_number), ` · ${valueLabel(a.status)} · ${t('appeal.distance', { m: Math.round(a.distance_m) })}`,
          h('br'), h('span', {}, a.description?.slice(0, 200) ?? '')))),
        near.non_public_count ? h('p', { class: 'hint' }, t('appeal.nearby_hidden', { n: near.non_public_count })) : null,
        near.appeals.length ? h('button', { type: 'button', class: 'secondary', on: { click: () => { rest.hidden = false; description.focus(); } } }, t('appeal.nearby_continue')) : null));
    } catch (err) {
      rest.hidden = false;
      showError(err);
    }
  };
  catSelect.addEventListener('change', checkNearby);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(formError);
    if (!form.reportValidity()) return;
    const appeal = {
      kind: kindSelect.value,
      category: catSelect.value,
      description: description.value,
      lon: point.lon,
      lat: point.lat,
      contact: { name: name.value },
      consent_public: consentPublic.checked,
    };
    if (address.value.trim()) appeal.address = address.value.trim();
    if (email.value.trim()) appeal.contact.email = email.value.trim();
    if (phone.value.trim()) appeal.contact.phone = phone.value.trim();
    const data = new FormData();
    data.append('appeal', new Blob([JSON.stringify(appeal)], { type: 'application/json' }));
    for (const file of [...photos.files].slice(0, 5)) data.append('photos', file, file.name);
    submit.disabled = true;
    submit.textContent = t('appeal.sending');
    try {
      const filed = await api('/api/appeals', { method: 'POST', form: data });
      onFiled(filed);
    } catch (err) {
      // The server lists every failing field; the form shows them in place.
      replace(formError, h('p', { class: 'notice' }, problemText(err)));
      formError.scrollIntoView({ block: 'nearest' });
    } finally {
      submit.disabled = false;
      submit.textContent = t('appeal.submit');
    }
  });
  replace(panel, form);
  catSelect.focus();
  return {
    form,
    setPoint(p) {
      point.lon = p.lon;
      point.lat = p.lat;
      showPoint();
      checkNearby();
    },
  };
}

/** The answer to a filing: the number, the deadline, who handles it, and the private tracking link. */
export function filedCard(panel, filed) {
  const link = trackingPageUrl(filed.tracking_url);
  const r = filed.routing ?? {};
  const executor = r.executor ? (lang() === 'en' && r.executor.name_en ? r.executor.name_en : r.executor.name) : null;
  replace(panel, h('section', { class: 'card success appeal-filed', 'aria-labelledby': 'filed-heading', tabindex: '-1' },
    h('h2', { id: 'filed-heading' }, t('appeal.filed')),
    h('dl', { class: 'attributes' },
      h('dt', {}, t('appeal.number')), h('dd', { class: 'public-number' }, filed.public_number),
      filed.due_at ? [h('dt', {}, t('appeal.due')), h('dd', {}, fmtDate(filed.due_at))] : null,
      executor ? [h('dt', {}, t('appeal.executor')), h('dd', {}, executor)] : null,
      r.electoral_district ? [h('dt', {}, t('deputy.title')), h('dd', {}, t('deputy.district', { n: r.electoral_district.number }))] : null),
    (r.deputies ?? []).map(deputyCard),
    h('h3', {}, t('appeal.tracking')),
    h('p', {}, h('a', { class: 'tracking-link', href: link }, link)),
    h('p', { class: 'hint' }, t('appeal.tracking_hint'))));
  panel.firstElementChild.focus();
}
