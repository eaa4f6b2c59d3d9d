// The text equivalent of a map: a toggle that shows the features currently
// drawn as an HTML table (the city requires one for every map).
import { h, fill } from './dom.js';
import { t } from './i18n.js';

/**
 * `rows()` returns the current rows; `columns` is [{key, title, format?}].
 * Returns {element, refresh}.
 */
export function tableView({ columns, rows, onRow }) {
  const box = h('div', { class: 'table-view', hidden: true, id: `tv-${Math.random().toString(36).slice(2)}` });
  const button = h('button', { type: 'button', class: 'table-toggle', 'aria-expanded': 'false', 'aria-controls': box.id }, t('table.show'));
  const refresh = () => {
    if (box.hidden) return;
    const list = rows();
    if (!list.length) {
      fill(box, h('p', {}, t('table.empty')));
      return;
    }
    const cols = typeof columns === 'function' ? columns() : columns;
    fill(box, h('table', {},
      h('caption', {}, t('table.caption', { n: list.length })),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.title)))),
      h('tbody', {}, list.map((r) => h('tr', {}, cols.map((c, i) => {
        const v = c.format ? c.format(r) : r[c.key];
        const text = v === null || v === undefined ? '' : String(v);
        if (i === 0 && onRow) return h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => onRow(r) }, text || '—'));
        return h('td', {}, text);
      }))))));
  };
  const toggle = (open = box.hidden) => {
    box.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? t('table.hide') : t('table.show');
    refresh();
  };
  button.addEventListener('click', () => toggle());
  return { element: h('div', { class: 'table-wrap' }, button, box), refresh, toggle };
}
