// The frame of a public page: a top bar (title, navigation, language),
// the side panel and the map, and the notice area for errors.
import './style.css';
import { h } from './dom.js';
import { initLang, langButton, t } from './i18n.js';

/**
 * Builds the page into #app. Returns {header, sidebar, mapEl, layout}.
 * `defaultLang` is `en` for the investor map, `uk` elsewhere.
 */
export function shell({ page, defaultLang = 'uk', title = null, headerExtra = null }) {
  initLang(defaultLang);
  document.title = title ? `${title} · ${t('app.title')}` : t('app.title');
  const app = document.getElementById('app') ?? document.body.appendChild(h('main', { id: 'app' }));
  const link = (href, key, name) => h('li', {}, h('a', { href, 'aria-current': page === name ? 'page' : null }, t(key)));
  const header = h('header', { class: 'topbar' },
    h('h1', {}, title ?? t('app.title')),
    h('nav', { 'aria-label': t('app.title') }, h('ul', {},
      link('/', 'nav.map', 'index'),
      link('/districts', 'nav.districts', 'district'),
      link('/invest', 'nav.invest', 'invest'))),
    headerExtra,
    h('span', { class: 'spacer' }),
    langButton());
  const sidebar = h('aside', { class: 'sidebar', id: 'sidebar' });
  const mapEl = h('div', { class: 'map', id: 'map', role: 'region', 'aria-label': t('nav.map') });
  const layout = h('div', { class: 'layout' }, sidebar, mapEl);
  app.replaceWith(h('a', { class: 'skip-link', href: '#sidebar' }, t('layers.title')), header, h('main', { id: 'app', class: 'layout-main' }, layout));
  document.body.append(h('div', { id: 'notices', class: 'notices', 'aria-live': 'assertive' }));
  return { header, sidebar, mapEl, layout };
}
