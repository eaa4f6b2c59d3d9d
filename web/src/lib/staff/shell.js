// The frame of every staff page: a header (title, links to the other staff
// pages, the language switch, who is signed in and a sign-out button), the
// sign-in form when nobody is, and a main area the page fills.
import './staff.css';
import { ApiError, get, request, setToken, token, whenUnauthorized } from './api.js';
import { h, fill, nextId } from './dom.js';
import { lang, setLang, t } from './i18n.js';

/**
 * Starts a staff page. `render(main, me)` is called once signed in
 * (`me` is `/api/auth/me`); the sign-in form is shown otherwise.
 */
export async function startStaffPage({ titleKey, render }) {
  document.documentElement.lang = lang();
  const app = document.getElementById('app') ?? document.body.appendChild(h('main', { id: 'app' }));
  const header = h('header', { class: 'staff-header' });
  const main = h('div', { class: 'staff-main', id: 'staff-main' });
  app.replaceWith(h('div', { class: 'staff-page' }, header, h('main', { id: 'app', class: 'staff-app' }, main)));
  document.title = `${t(titleKey)} · Геопортал`;

  const signOut = async () => {
    try { await request('POST', '/api/auth/logout'); } catch { /* already ended */ }
    setToken(null);
    location.reload();
  };
  whenUnauthorized(() => {
    setToken(null);
    showSignIn(main, t('auth.expired'), () => boot());
  });

  const boot = async () => {
    let me = null;
    if (token()) {
      try { me = await get('/api/auth/me'); } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) throw e;
        setToken(null);
      }
    }
    drawHeader(header, titleKey, me, signOut);
    if (!me) {
      showSignIn(main, null, () => boot());
      return;
    }
    fill(main);
    await render(main, me);
  };
  await boot();
}

function drawHeader(header, titleKey, me, signOut) {
  const links = [['/', 'nav.map'], ['/editor', 'nav.editor'], ['/office', 'nav.office'], ['/admin', 'nav.admin']];
  fill(header,
    h('h1', {}, t(titleKey)),
    h('nav', { 'aria-label': 'staff' },
      h('ul', {}, links.map(([href, key]) => h('li', {},
        h('a', { href, 'aria-current': location.pathname === href ? 'page' : false }, t(key)))))),
    h('div', { class: 'staff-user' },
      me ? h('span', { class: 'staff-who' }, t('auth.as', {
        name: me.user?.display_name || me.user?.username || `API key ${me.api_key_id}`,
        roles: me.roles.join(', '),
      })) : null,
      me ? h('button', { type: 'button', onclick: signOut }, t('auth.signout')) : null,
      h('button', {
        type: 'button', class: 'lang-switch', lang: lang() === 'uk' ? 'en' : 'uk',
        'aria-label': t('lang.switch.label'),
        onclick: () => { setLang(lang() === 'uk' ? 'en' : 'uk'); location.reload(); },
      }, t('lang.switch'))));
}

function showSignIn(main, message, done) {
  const u = nextId('user');
  const p = nextId('pass');
  const msg = h('p', { class: 'form-error', role: 'alert' }, message ?? '');
  const form = h('form', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h2', { id: 'signin-title' }, t('auth.title')),
    h('label', { for: u }, t('auth.username')),
    h('input', { id: u, name: 'username', autocomplete: 'username', required: true }),
    h('label', { for: p }, t('auth.password')),
    h('input', { id: p, name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, t('auth.submit')),
    msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      const r = await request('POST', '/api/auth/login', {
        json: { username: form.username.value, password: form.password.value }, anonymous: true,
      });
      setToken(r.body.token);
      done();
    } catch (e) {
      msg.textContent = t('auth.failed', { detail: e.message });
    }
  });
  fill(main, form);
  form.username.focus();
}

/** A panel with a heading (an accessible region). */
export function panel(titleText, ...children) {
  const id = nextId('panel');
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, titleText), ...children);
}

/** Shows an error from the API in `el` (a live region). */
export function showError(el, e) {
  el.textContent = t('common.error', { detail: e?.message ?? String(e) });
  el.dataset.kind = 'error';
}
