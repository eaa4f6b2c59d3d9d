// The API client of the staff pages: the bearer token lives in
// sessionStorage (no cookies), every answer that is not 2xx becomes an
// ApiError carrying the problem document (RFC 9457) and the status.
const TOKEN = 'geoportal.token';

export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    this.headers = headers;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value);
  else sessionStorage.removeItem(TOKEN);
}

let onUnauthorized = null;
/** Called when a request with a token gets 401 (expired, signed out elsewhere). */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/**
 * fetch with the token; `json` is sent as JSON (with `type` as its media
 * type). Resolves to `{status, headers, body, etag}`.
 */
export async function request(method, url, { json, body, type, headers = {}, anonymous = false } = {}) {
  const h = { Accept: 'application/json, application/geo+json, application/problem+json', ...headers };
  const tok = token();
  if (tok && !anonymous) h.Authorization = `Bearer ${tok}`;
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    h['Content-Type'] = type ?? 'application/json';
  }
  const res = await fetch(url, { method, headers: h, body: payload });
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!res.ok) {
    if (res.status === 401 && tok && !anonymous && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, data, res.headers);
  }
  return { status: res.status, headers: res.headers, body: data, etag: res.headers.get('ETag') };
}

export const get = (url, opts) => request('GET', url, opts).then((r) => r.body);

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
