// Small DOM helpers: every text goes in through textContent, never HTML,
// so data from the API cannot inject markup (see the CSP in README).

/**
 * h('button', {class: 'x', on: {click: fn}}, 'text', child) → element.
 * Attributes whose value is null/undefined/false are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    } else if (k === 'text') {
      el.textContent = String(v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (['value', 'checked', 'disabled', 'hidden', 'selected', 'multiple', 'required'].includes(k)) {
      el[k] = v;
    } else if (k === 'for') {
      el.htmlFor = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function nextId(prefix = 'gp') {
  uid += 1;
  return `${prefix}-${uid}`;
}
