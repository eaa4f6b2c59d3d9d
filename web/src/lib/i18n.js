// Ukrainian by default, English on request; the choice is kept in
// localStorage so every page opens in the language last picked.
import { h } from './dom.js';

const KEY = 'geoportal.lang';
export const LANGUAGES = ['uk', 'en'];
let current = null;

const STRINGS = {
  uk: {
    'app.title': 'Геопортал міста',
    'lang.switch': 'English',
    'lang.switch.label': 'Switch to English',
    'nav.map': 'Мапа',
    'nav.invest': 'Інвесторам',
    'nav.districts': 'Округи',
    'layers.title': 'Шари',
    'layers.base': 'Основа',
    'layers.thematic': 'Тематичні шари',
    'layers.legend': 'Умовні позначення',
    'layers.zoom_in': 'видно з масштабу {z}',
    'table.show': 'Таблиця',
    'table.hide': 'Сховати таблицю',
    'table.caption': 'Об’єкти на мапі: {n}',
    'table.layer': 'Шар',
    'table.empty': 'У цій частині мапи немає об’єктів увімкнених шарів.',
    'table.more': 'Показано перші {n} рядків.',
    'search.label': 'Пошук: адреса, кадастровий номер, номер звернення',
    'search.placeholder': 'Адреса, кадастровий № або номер звернення',
    'search.button': 'Знайти',
    'search.none': 'Нічого не знайдено.',
    'search.results': 'Результати пошуку',
    'mode.deputy': 'Мій депутат',
    'mode.appeal': 'Подати звернення',
    'mode.pick_point': 'Клацніть на мапі, щоб обрати місце, або наведіть на нього центр мапи (стрілки клавіатури).',
    'mode.cancel': 'Скасувати',
    'mode.use_centre': 'Обрати центр мапи',
    'deputy.title': 'Мій депутат',
    'deputy.geolocate': 'Визначити моє місце',
    'deputy.hint': 'Клацніть на мапі у місці, де ви живете, або визначте своє місце.',
    'deputy.district': 'Виборчий округ № {n}',
    'deputy.none': 'Депутата не знайдено.',
    'deputy.reception': 'Прийом',
    'deputy.phone': 'Телефон',
    'deputy.email': 'Ел. пошта',
    'deputy.faction': 'Фракція',
    'deputy.open_district': 'Сторінка округу',
    'deputy.geo_unavailable': 'Браузер не дає визначити місце. Клацніть на мапі.',
    'appeal.title': 'Нове звернення',
    'appeal.point': 'Місце: {lat}, {lon}',
    'appeal.kind': 'Вид звернення',
    'appeal.category': 'Категорія',
    'appeal.description': 'Опис проблеми',
    'appeal.address': 'Адреса місця (необов’язково)',
    'appeal.photos': 'Фото (до 5, JPEG/PNG/WebP)',
    'appeal.name': 'Ваше ім’я та прізвище',
    'appeal.email': 'Ел. пошта',
    'appeal.phone': 'Телефон',
    'appeal.contact_hint': 'Потрібна ел. пошта або телефон. Ці дані бачить лише відділ звернень.',
    'appeal.consent_public': 'Згоден оприлюднити звернення на мапі (без моїх персональних даних)',
    'appeal.consent_pd': 'Даю згоду на обробку персональних даних для розгляду звернення',
    'appeal.submit': 'Надіслати звернення',
    'appeal.sending': 'Надсилання…',
    'appeal.nearby': 'Поруч уже є такі звернення',
    'appeal.nearby_hint': 'Можливо, про цю проблему вже повідомили. Перегляньте їх, перш ніж подавати нове.',
    'appeal.nearby_hidden': 'Ще {n} неоприлюднених звернень цієї категорії поруч.',
    'appeal.nearby_continue': 'Моє звернення про інше — продовжити',
    'appeal.distance': '{m} м',
    'appeal.filed': 'Звернення зареєстровано',
    'appeal.number': 'Номер звернення',
    'appeal.due': 'Термін розгляду',
    'appeal.executor': 'Виконавець',
    'appeal.tracking': 'Посилання для відстеження',
    'appeal.tracking_hint': 'Збережіть це посилання: воно показується лише зараз і відкриває стан вашого звернення.',
    'appeal.pick_category': '— оберіть категорію —',
    'track.title': 'Ваше звернення',
    'track.status': 'Стан',
    'track.history': 'Історія',
    'track.answer': 'Відповідь',
    'track.reject_reason': 'Підстава відмови',
    'track.created': 'Подано',
    'track.rate': 'Оцініть відповідь',
    'track.rate_send': 'Оцінити',
    'track.rated': 'Дякуємо за оцінку.',
    'track.withdraw': 'Відкликати згоду на оприлюднення',
    'track.withdrawn': 'Звернення більше не показується на мапі.',
    'popup.cluster': 'Звернень тут: {n}. Наблизьте мапу.',
    'popup.loading': 'Завантаження…',
    'close': 'Закрити',
    'error.title': 'Помилка',
    'error.network': 'Сервер недоступний. Перевірте з’єднання.',
    'district.title': 'Виборчий округ № {n}',
    'district.choose': 'Оберіть округ',
    'district.summary': 'Звіт по округу',
    'district.population': 'Населення',
    'district.voters': 'Виборців',
    'district.deputies': 'Депутати',
    'district.appeals': 'Звернення',
    'district.appeals_total': 'Усього звернень',
    'district.on_time': 'Вчасно, %',
    'district.median_days': 'Медіана днів розгляду',
    'district.overdue': 'Прострочено',
    'district.by_status': 'За станом',
    'district.by_category': 'За категорією',
    'district.trend': 'Динаміка за тижнями',
    'district.trend_new': 'нові',
    'district.trend_answered': 'з відповіддю',
    'district.overdue_list': 'Прострочені звернення',
    'district.overdue_none': 'Прострочених оприлюднених звернень немає.',
    'district.overdue_unlisted': 'Ще {n} прострочених звернень не оприлюднено: вони враховані в підсумку, але не показані.',
    'district.property': 'Комунальне майно',
    'district.property_count': 'Об’єктів',
    'district.vacant': 'Вільних',
    'district.leased': 'В оренді',
    'district.arrears': 'Заборгованість, грн',
    'district.land': 'Земля',
    'district.land_plots': 'Ділянок',
    'district.land_area': 'Площа, га',
    'district.energy': 'Енергоефективність',
    'district.energy_objects': 'Будівель',
    'district.energy_eui': 'Сер. енергоємність, кВт·год/м²',
    'district.energy_outliers': 'Аномалій',
    'district.ads': 'Реклама',
    'district.ads_count': 'Конструкцій',
    'district.ads_without_permit': 'Без дозволу',
    'district.temporary': 'Тимчасові споруди',
    'district.investment': 'Інвестиційні ділянки',
    'district.budget': 'Бюджет розвитку',
    'district.budget_projects': 'Проєктів',
    'district.budget_planned': 'План, грн',
    'district.budget_contracted': 'Укладено, грн',
    'district.budget_paid': 'Сплачено, грн',
    'district.not_found': 'Округу № {n} немає.',
    'invest.title': 'Інвестиційна мапа',
    'invest.filters': 'Фільтри',
    'invest.min_area': 'Площа від, га',
    'invest.max_area': 'Площа до, га',
    'invest.min_premises': 'Вільні приміщення: площа від, м²',
    'invest.max_premises': 'Вільні приміщення: площа до, м²',
    'invest.site_type': 'Тип ділянки',
    'invest.any': 'будь-який',
    'invest.utilities': 'Інженерні мережі',
    'invest.max_road': 'До магістральної вулиці не далі, м',
    'invest.max_rail': 'До залізниці не далі, м',
    'invest.apply': 'Застосувати',
    'invest.reset': 'Скинути',
    'invest.results': 'Знайдено ділянок: {n}',
    'invest.vacant_premises': 'Вільні приміщення',
    'invest.free_plots': 'Вільні земельні ділянки',
    'invest.sites': 'Інвестиційні ділянки',
    'invest.card': 'Картка ділянки',
    'invest.passport': 'Паспорт ділянки',
    'invest.print': 'Друкувати паспорт',
    'invest.back': 'До мапи',
    'invest.road_m': 'До магістральної вулиці, м',
    'invest.rail_m': 'До залізниці, м',
    'invest.generated': 'Сформовано {date}',
    'yes': 'так',
    'no': 'ні',
  },
  en: {
    'app.title': 'City geoportal',
    'lang.switch': 'Українська',
    'lang.switch.label': 'Перейти на українську',
    'nav.map': 'Map',
    'nav.invest': 'Investors',
    'nav.districts': 'Districts',
    'layers.title': 'Layers',
    'layers.base': 'Base map',
    'layers.thematic': 'Thematic layers',
    'layers.legend': 'Legend',
    'layers.zoom_in': 'visible from zoom {z}',
    'table.show': 'Table',
    'table.hide': 'Hide table',
    'table.caption': 'Features on the map: {n}',
    'table.layer': 'Layer',
    'table.empty': 'No features of the layers switched on in this part of the map.',
    'table.more': 'Showing the first {n} rows.',
    'search.label': 'Search: address, cadastral number, appeal number',
    'search.placeholder': 'Address, cadastral no. or appeal number',
    'search.button': 'Search',
    'search.none': 'Nothing found.',
    'search.results': 'Search results',
    'mode.deputy': 'Find my deputy',
    'mode.appeal': 'File an appeal',
    'mode.pick_point': 'Click the map to pick the place, or bring it to the map centre (arrow keys).',
    'mode.cancel': 'Cancel',
    'mode.use_centre': 'Use the map centre',
    'deputy.title': 'My deputy',
    'deputy.geolocate': 'Use my location',
    'deputy.hint': 'Click the map where you live, or use your location.',
    'deputy.district': 'Electoral district no. {n}',
    'deputy.none': 'No deputy found.',
    'deputy.reception': 'Reception',
    'deputy.phone': 'Phone',
    'deputy.email': 'Email',
    'deputy.faction': 'Faction',
    'deputy.open_district': 'District page',
    'deputy.geo_unavailable': 'The browser cannot tell your location. Click the map instead.',
    'appeal.title': 'New appeal',
    'appeal.point': 'Place: {lat}, {lon}',
    'appeal.kind': 'Kind of appeal',
    'appeal.category': 'Category',
    'appeal.description': 'What is the problem',
    'appeal.address': 'Address of the place (optional)',
    'appeal.photos': 'Photos (up to 5, JPEG/PNG/WebP)',
    'appeal.name': 'Your full name',
    'appeal.email': 'Email',
    'appeal.phone': 'Phone',
    'appeal.contact_hint': 'An email or a phone is required. Only the appeals office sees them.',
    'appeal.consent_public': 'Publish the appeal on the map (never my personal data)',
    'appeal.consent_pd': 'I agree to the processing of my personal data to handle the appeal',
    'appeal.submit': 'Send the appeal',
    'appeal.sending': 'Sending…',
    'appeal.nearby': 'Similar appeals nearby',
    'appeal.nearby_hint': 'Someone may have reported this already. Have a look before filing a new one.',
    'appeal.nearby_hidden': '{n} more unpublished appeals of this category nearby.',
    'appeal.nearby_continue': 'Mine is different — continue',
    'appeal.distance': '{m} m',
    'appeal.filed': 'Your appeal is registered',
    'appeal.number': 'Appeal number',
    'appeal.due': 'Answer due',
    'appeal.executor': 'Executor',
    'appeal.tracking': 'Tracking link',
    'appeal.tracking_hint': 'Keep this link: it is shown only now and opens the state of your appeal.',
    'appeal.pick_category': '— pick a category —',
    'track.title': 'Your appeal',
    'track.status': 'Status',
    'track.history': 'History',
    'track.answer': 'Answer',
    'track.reject_reason': 'Reason for rejection',
    'track.created': 'Filed',
    'track.rate': 'Rate the answer',
    'track.rate_send': 'Rate',
    'track.rated': 'Thank you for the rating.',
    'track.withdraw': 'Withdraw consent to publish',
    'track.withdrawn': 'The appeal is no longer shown on the map.',
    'popup.cluster': '{n} appeals here. Zoom in.',
    'popup.loading': 'Loading…',
    'close': 'Close',
    'error.title': 'Error',
    'error.network': 'The server cannot be reached. Check your connection.',
    'district.title': 'Electoral district no. {n}',
    'district.choose': 'Choose a district',
    'district.summary': 'District report',
    'district.population': 'Population',
    'district.voters': 'Voters',
    'district.deputies': 'Deputies',
    'district.appeals': 'Appeals',
    'district.appeals_total': 'Appeals in all',
    'district.on_time': 'On time, %',
    'district.median_days': 'Median days to answer',
    'district.overdue': 'Overdue',
    'district.by_status': 'By status',
    'district.by_category': 'By category',
    'district.trend': 'Weekly trend',
    'district.trend_new': 'new',
    'district.trend_answered': 'answered',
    'district.overdue_list': 'Overdue appeals',
    'district.overdue_none': 'No overdue public appeals.',
    'district.overdue_unlisted': '{n} more overdue appeals are not public: counted in the summary, not listed.',
    'district.property': 'Communal property',
    'district.property_count': 'Objects',
    'district.vacant': 'Vacant',
    'district.leased': 'Leased',
    'district.arrears': 'Arrears, UAH',
    'district.land': 'Land',
    'district.land_plots': 'Plots',
    'district.land_area': 'Area, ha',
    'district.energy': 'Energy efficiency',
    'district.energy_objects': 'Buildings',
    'district.energy_eui': 'Mean energy intensity, kWh/m²',
    'district.energy_outliers': 'Outliers',
    'district.ads': 'Advertising',
    'district.ads_count': 'Structures',
    'district.ads_without_permit': 'Without permit',
    'district.temporary': 'Temporary structures',
    'district.investment': 'Investment sites',
    'district.budget': 'Development budget',
    'district.budget_projects': 'Projects',
    'district.budget_planned': 'Planned, UAH',
    'district.budget_contracted': 'Contracted, UAH',
    'district.budget_paid': 'Paid, UAH',
    'district.not_found': 'There is no district no. {n}.',
    'invest.title': 'Investment map',
    'invest.filters': 'Filters',
    'invest.min_area': 'Area from, ha',
    'invest.max_area': 'Area to, ha',
    'invest.min_premises': 'Vacant premises: area from, m²',
    'invest.max_premises': 'Vacant premises: area to, m²',
    'invest.site_type': 'Site type',
    'invest.any': 'any',
    'invest.utilities': 'Utilities',
    'invest.max_road': 'Main road within, m',
    'invest.max_rail': 'Railway within, m',
    'invest.apply': 'Apply',
    'invest.reset': 'Reset',
    'invest.results': 'Sites found: {n}',
    'invest.vacant_premises': 'Vacant premises',
    'invest.free_plots': 'Free land plots',
    'invest.sites': 'Investment sites',
    'invest.card': 'Site card',
    'invest.passport': 'Site passport',
    'invest.print': 'Print the passport',
    'invest.back': 'Back to the map',
    'invest.road_m': 'To a main road, m',
    'invest.rail_m': 'To the railway, m',
    'invest.generated': 'Generated {date}',
    'yes': 'yes',
    'no': 'no',
  },
};

// Labels of attribute codes shown to people (legends, tables, popups).
const VALUES = {
  uk: {
    complaint: 'скарга', proposal: 'пропозиція', request: 'заява', info_request: 'запит на інформацію', emergency: 'аварія',
    submitted: 'подано', registered: 'зареєстровано', forwarded: 'переслано', in_progress: 'розглядається',
    extended: 'продовжено', answered: 'надано відповідь', rejected: 'відмовлено', spam: 'спам', duplicate: 'дублікат',
    closed: 'закрито', available: 'вільна', negotiating: 'переговори', taken: 'зайнята', greenfield: 'greenfield',
    brownfield: 'brownfield', premises: 'приміщення', ppp: 'ДПП', sale: 'продаж', lease: 'оренда',
    free: 'вільна', offered_for_building: 'пропонується під забудову', leased: 'в оренді', in_use: 'у користуванні',
    privatized: 'приватизовано', state: 'державна', communal: 'комунальна', private: 'приватна', unknown: 'невідомо',
    holder_use: 'у балансоутримувача', vacant: 'вільне', under_repair: 'на ремонті', for_privatization: 'до приватизації',
    building: 'будівля', structure: 'споруда', planned: 'заплановано', tender: 'тендер', in_works: 'виконуються роботи',
    completed: 'завершено', development_budget: 'бюджет розвитку', participatory: 'бюджет участі', deputy_fund: 'депутатський фонд',
    applied: 'подано заяву', priority: 'пріоритет', permitted: 'дозвіл діє', expired: 'прострочено', cancelled: 'скасовано',
    unauthorized: 'самовільно', dismantled: 'демонтовано', installed: 'встановлено', removed: 'прибрано', draft: 'чернетка',
    issued: 'видано', kiosk: 'кіоск', pavilion: 'павільйон', seasonal: 'сезонна', other: 'інше',
    school: 'школа', kindergarten: 'садочок', hospital: 'лікарня', administrative: 'адмінбудівля', culture: 'культура', sport: 'спорт',
    residential: 'житлова', apartments: 'багатоквартирна', commercial: 'комерційна', public: 'громадська', industrial: 'промислова',
    garage: 'гараж', billboard: 'білборд', citylight: 'сітілайт', scroll: 'скролер', banner: 'банер', roof: 'дахова', sign: 'вивіска',
    primary: 'магістральна', secondary: 'районна', tertiary: 'місцева', service: 'проїзд', rail: 'залізниця',
    river: 'річка', pond: 'ставок', lake: 'озеро', reservoir: 'водосховище', stream: 'струмок',
    low: 'низький', normal: 'звичайний', high: 'високий', urgent: 'терміновий',
    gas: 'газ', water: 'вода', sewer: 'каналізація', heating: 'опалення',
  },
  en: {
    info_request: 'information request', in_progress: 'in progress', offered_for_building: 'offered for building',
    in_use: 'in use', holder_use: 'used by holder', under_repair: 'under repair', for_privatization: 'for privatisation',
    in_works: 'works under way', development_budget: 'development budget', participatory: 'participatory budget',
    deputy_fund: 'deputy fund', ppp: 'PPP', gas: 'gas', water: 'water', sewer: 'sewer', heating: 'heating',
  },
};

export function lang() {
  if (!current) current = document.documentElement.lang === 'en' ? 'en' : 'uk';
  return current;
}

/** Picks the stored language, else the page's default (`uk`, or `en` for the investor map). */
export function initLang(pageDefault = 'uk') {
  let stored = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch {
    stored = null;
  }
  current = LANGUAGES.includes(stored) ? stored : pageDefault;
  document.documentElement.lang = current;
  return current;
}

export function setLang(l) {
  if (!LANGUAGES.includes(l)) return;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  current = l;
  document.documentElement.lang = l;
}

/** A string of the interface, `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const s = STRINGS[lang()][key] ?? STRINGS.uk[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

/** `{uk, en}` objects of the API in the current language. */
export function tr(obj) {
  if (obj === null || obj === undefined) return '';
  if (typeof obj === 'string') return obj;
  return obj[lang()] ?? obj.uk ?? obj.en ?? '';
}

/** A code (status, kind…) as a word in the current language. */
export function valueLabel(value) {
  if (value === null || value === undefined) return '';
  const v = String(value);
  const l = lang();
  if (l === 'uk') return VALUES.uk[v] ?? v;
  return VALUES.en[v] ?? v.replace(/_/g, ' ');
}

export function fmtNumber(n, digits = 2) {
  if (n === null || n === undefined || n === '') return '';
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return x.toLocaleString(lang() === 'uk' ? 'uk-UA' : 'en-GB', { maximumFractionDigits: digits });
}

/** Times are stored in UTC and shown in Kyiv time. */
export function fmtDate(s, withTime = true) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  const opts = { timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit', day: '2-digit' };
  if (withTime) Object.assign(opts, { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleString(lang() === 'uk' ? 'uk-UA' : 'en-GB', opts);
}

/**
 * Formats a property value for display; `attr` is the attribute of
 * /api/layers (`type`, `values`): codes of a value list become words.
 */
export function fmtValue(value, attr = {}) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? t('yes') : t('no');
  if (attr.type === 'datetime') return fmtDate(value);
  if (attr.type === 'date') return fmtDate(value, false);
  if (typeof value === 'number') return fmtNumber(value, 4);
  if (typeof value === 'object') return JSON.stringify(value);
  return attr.values ? valueLabel(value) : String(value);
}

/** The button that switches the language (the page re-renders through a reload, keeping the map hash). */
export function langButton() {
  const other = lang() === 'uk' ? 'en' : 'uk';
  return h('button', {
    type: 'button', class: 'lang-switch', lang: other, 'aria-label': t('lang.switch.label'),
    on: { click: () => { setLang(other); location.reload(); } },
  }, t('lang.switch'));
}
