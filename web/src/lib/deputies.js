// A deputy's card: name, faction, reception address and hours, contacts.
import { h } from './dom.js';
import { t } from './i18n.js';

export function deputyCard(d) {
  const rows = [];
  const add = (label, value) => {
    if (value) rows.push(h('dt', {}, label), h('dd', {}, value));
  };
  add(t('deputy.faction'), d.faction);
  add(t('deputy.reception'), [d.reception_address, d.reception_hours].filter(Boolean).join(' · '));
  if (d.phone) rows.push(h('dt', {}, t('deputy.phone')), h('dd', {}, h('a', { href: `tel:${d.phone.replace(/[^+\d]/g, '')}` }, d.phone)));
  if (d.email) rows.push(h('dt', {}, t('deputy.email')), h('dd', {}, h('a', { href: `mailto:${d.email}` }, d.email)));
  return h('article', { class: 'card deputy', dataset: { deputy: String(d.id ?? '') } },
    h('h3', {}, d.full_name ?? ''),
    h('dl', { class: 'attributes' }, rows));
}
