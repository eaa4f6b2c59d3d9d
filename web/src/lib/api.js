// The API client: JSON in and out, the bearer token of a signed-in user
// (sessionStorage, never cookies), and RFC 9457 problem documents turned
// into errors whose text is shown to the user.
import { h } from './dom.js';
import { t } from './i18n.js';

const TOKEN_KEY = 'geoportal.token';

export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem?.detail || problem?.title || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.problem = problem ?? {};
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the session lasts until the page is left.
  }
}

/**
 * Calls the API. `body` is sent as JSON, `form` (FormData) as multipart;
 * the answer is parsed as JSON when it is JSON. Throws ApiError on 4xx/5xx.
 */
export async function api(path, { method = 'GET', body, form, headers = {}, signal, query } = {}) {
  const hdrs = { Accept: 'application/json, application/problem+json', ...headers };
  const tok = token();
  if (tok) hdrs.Authorization = `Bearer ${tok}`;
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    hdrs['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined || v === '') continue;
      for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
    }
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  let res;
  try {
    res = await fetch(url, { method, headers: hdrs, body: payload, signal });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, { title: t('error.network'), detail: t('error.network') });
  }
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    let problem = null;
    if (type.includes('json')) {
      try {
        problem = await res.json();
      } catch {
        problem = null;
      }
    }
    throw new ApiError(res.status, problem ?? { title: res.statusText });
  }
  if (res.status === 204) return null;
  if (type.includes('json')) return res.json();
  return res.text();
}

/** The text of an error for the user: the problem's detail and each listed error. */
export function problemText(err) {
  if (err instanceof ApiError) {
    const p = err.problem;
    const parts = [p.title && p.detail && p.title !== p.detail ? `${p.title}: ${p.detail}` : (p.detail || p.title || err.message)];
    if (Array.isArray(p.errors)) {
      for (const e of p.errors) parts.push(typeof e === 'string' ? e : (e.detail || e.message || JSON.stringify(e)));
    }
    return parts.filter(Boolean).join('\n');
  }
  return String(err?.message ?? err);
}

function noticeArea() {
  let area = document.getElementById('notices');
  if (!area) {
    area = h('div', { id: 'notices', class: 'notices', 'aria-live': 'assertive' });
    document.body.append(area);
  }
  return area;
}

/** Shows an error to the user (dismissable, announced by screen readers). */
export function showError(err, where = null) {
  const text = problemText(err);
  const box = h('div', { class: 'notice notice-error', role: 'alert' },
    h('strong', {}, `${t('error.title')}: `),
    h('span', { class: 'notice-text' }, text),
    h('button', { type: 'button', class: 'notice-close', 'aria-label': t('close'), on: { click: () => box.remove() } }, '×'));
  (where ?? noticeArea()).append(box);
  return box;
}
