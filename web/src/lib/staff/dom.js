// Tiny DOM helpers for the staff pages: every text goes in via textContent
// (never innerHTML), so data from the server cannot become markup. Child
// handling and ids come from the portal's shared lib/dom.js; `h` here keeps
// the staff pages' `onclick: fn` attribute style.
import { replace } from '../dom.js';

export { replace as fill, nextId } from '../dom.js';

/**
 * h('button', {class: 'x', type: 'button', onclick: fn}, 'text', child…)
 * Attributes starting with `on` become listeners; `dataset` and `style`
 * objects are assigned; `false`/`null` attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return replace(el, children);
}

/** A polite live region message (status line). */
export function status(el, text, kind = 'info') {
  el.textContent = text ?? '';
  el.dataset.kind = kind;
}
