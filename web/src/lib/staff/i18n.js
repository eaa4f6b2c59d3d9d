// Ukrainian by default, English on request. Each staff page registers its
// own strings; `onLang` lets a page re-render after a switch.
const KEY = 'geoportal.lang';
const dict = { uk: {}, en: {} };
const listeners = [];

export function lang() {
  const saved = localStorage.getItem(KEY);
  return saved === 'en' ? 'en' : 'uk';
}

export function setLang(l) {
  localStorage.setItem(KEY, l === 'en' ? 'en' : 'uk');
  document.documentElement.lang = lang();
  for (const fn of listeners) fn(lang());
}

export function onLang(fn) {
  listeners.push(fn);
}

/** Adds strings: `{key: [uk, en]}`. */
export function strings(table) {
  for (const [k, [uk, en]] of Object.entries(table)) {
    dict.uk[k] = uk;
    dict.en[k] = en;
  }
}

/** The string for `key` with `{name}` placeholders filled. */
export function t(key, params = {}) {
  const s = dict[lang()][key] ?? dict.uk[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, n) => (params[n] ?? `{${n}}`));
}

/** A registry title `{uk, en}` in the current language. */
export function pick(i18n) {
  if (!i18n) return '';
  if (typeof i18n === 'string') return i18n;
  return i18n[lang()] ?? i18n.uk ?? i18n.en ?? '';
}

strings({
  'lang.switch': ['English', 'Українська'],
  'lang.switch.label': ['Switch to English', 'Перейти на українську'],
  'auth.title': ['Вхід для працівників', 'Staff sign-in'],
  'auth.username': ['Ім’я користувача або email', 'User name or email'],
  'auth.password': ['Пароль', 'Password'],
  'auth.submit': ['Увійти', 'Sign in'],
  'auth.signout': ['Вийти', 'Sign out'],
  'auth.as': ['Ви увійшли як {name} ({roles})', 'Signed in as {name} ({roles})'],
  'auth.failed': ['Не вдалося увійти: {detail}', 'Sign-in failed: {detail}'],
  'auth.expired': ['Сесія закінчилася — увійдіть знову.', 'Your session has ended — sign in again.'],
  'nav.map': ['Мапа', 'Map'],
  'nav.editor': ['Редактор шарів', 'Layer editor'],
  'nav.office': ['Звернення', 'Appeals office'],
  'nav.admin': ['Адміністрування', 'Administration'],
  'common.loading': ['Завантаження…', 'Loading…'],
  'common.error': ['Помилка: {detail}', 'Error: {detail}'],
  'common.close': ['Закрити', 'Close'],
  'common.none': ['—', '—'],
  'common.yes': ['так', 'yes'],
  'common.no': ['ні', 'no'],
  'table.show': ['Показати таблицею', 'Show as a table'],
  'table.hide': ['Сховати таблицю', 'Hide the table'],
  'table.caption': ['Об’єкти, показані на мапі ({n})', 'Features shown on the map ({n})'],
  'table.empty': ['На мапі зараз немає об’єктів.', 'No features on the map now.'],
});
