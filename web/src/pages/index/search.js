// The search box of the resident map: addresses, cadastral numbers, appeal
// numbers and named features (GET /api/search), results as a list of buttons.
import { api, showError } from '../../lib/api.js';
import { h, nextId, replace } from '../../lib/dom.js';
import { t, tr } from '../../lib/i18n.js';

export function searchForm({ catalogue, onPick }) {
  const inputId = nextId('search');
  const input = h('input', { id: inputId, type: 'search', name: 'q', placeholder: t('search.placeholder'), autocomplete: 'off', maxlength: '200' });
  const results = h('ul', { class: 'search-results', hidden: true, 'aria-label': t('search.results') });
  const close = () => { results.hidden = true; };
  const form = h('form', { class: 'search', role: 'search' },
    h('label', { for: inputId, class: 'visually-hidden' }, t('search.label')),
    input,
    h('button', { type: 'submit' }, t('search.button')),
    results);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    try {
      const cat = await catalogue();
      const res = await api('/api/search', { query: { q, limit: 10 } });
      if (!res.hits.length) {
        replace(results, h('li', {}, h('p', { class: 'hint' }, t('search.none'))));
      } else {
        replace(results, res.hits.map((hit) => h('li', {}, h('button', {
          type: 'button', dataset: { layer: hit.layer, id: String(hit.id) },
          on: { click: () => { close(); onPick(hit); } },
        }, hit.label ?? hit.matched ?? String(hit.id), h('small', {}, tr(cat.get(hit.layer)?.title) || hit.layer)))));
      }
      results.hidden = false;
      results.querySelector('button')?.focus();
    } catch (err) {
      showError(err);
    }
  });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { close(); input.focus(); }
  });
  return form;
}
