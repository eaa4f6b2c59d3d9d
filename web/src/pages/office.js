// Page: the appeals office (/office). Queues for operators and executors
// (the API filters rows by role), deadlines highlighted, the appeal's card
// with the author's contact only where the API gives it, and status moves
// with comments.
import './office/strings.js';
import { ApiError, get, qs, request } from '../lib/staff/api.js';
import { h, fill, nextId, status } from '../lib/staff/dom.js';
import { lang, pick, t } from '../lib/staff/i18n.js';
import { createMap, extentOf } from '../lib/staff/map.js';
import { panel, startStaffPage } from '../lib/staff/shell.js';
import { tableView } from '../lib/staff/table.js';
import { fromLocalInput, kyiv } from '../lib/staff/time.js';
import { movesFor, OPEN } from './office/transitions.js';

const CONTACT = ['author_name', 'phone', 'email', 'contact_address'];
const SOON_DAYS = 3;
const QUEUES = {
  new: { status: 'submitted' },
  work: { status: OPEN.join(',') },
  overdue: { overdue: true },
  done: { status: 'answered,forwarded,duplicate,rejected' },
  all: {},
};

startStaffPage({ titleKey: 'office.title', render });

const stat = (s) => t(`status.${s}`);

/** 'overdue', 'soon' or '' for an appeal row. */
function urgency(a) {
  if (!OPEN.includes(a.status) || !a.due_at) return '';
  const due = new Date(a.due_at).getTime();
  if (a.overdue || due < Date.now()) return 'overdue';
  if (due < Date.now() + SOON_DAYS * 86400e3) return 'soon';
  return '';
}

async function render(main, me) {
  const staff = ['appeals_operator', 'executor', 'deputy', 'admin'];
  if (!me.roles.some((r) => staff.includes(r))) {
    fill(main, h('p', { class: 'note' }, t('office.notStaff')));
    return;
  }
  const [layerDoc, executors] = await Promise.all([
    get('/api/layers/appeals'),
    get('/ogc/collections/executors/items?limit=1000').catch(() => ({ features: [] })),
  ]);
  const titles = Object.fromEntries(layerDoc.attributes.map((a) => [a.name, pick(a.title)]));
  const executorName = new Map((executors.features ?? []).map((f) => [f.id, (lang() === 'en' && f.properties.name_en) || f.properties.name]));
  // An executor starts on its own department's open appeals (it also sees
  // the public ones of others).
  const ownExecutor = me.roles.includes('executor') && me.executor_id ? String(me.executor_id) : '';
  const state = { queue: me.roles.includes('appeals_operator') ? 'new' : 'work', executor: ownExecutor, appeals: [], selected: null };

  const queueId = nextId('queue');
  const execId = nextId('exec');
  const queueSel = h('select', { id: queueId, name: 'queue' },
    Object.keys(QUEUES).map((k) => h('option', { value: k, selected: k === state.queue }, t(`office.q.${k}`))));
  const execSel = h('select', { id: execId, name: 'executor' }, h('option', { value: '' }, t('office.anyExecutor')),
    [...executorName].map(([id, name]) => h('option', { value: id, selected: String(id) === state.executor }, name)));
  const msg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const listBox = h('div', { id: 'queue-list' });
  const summaryBox = h('div', { id: 'overdue-summary' });
  const detail = h('div', { id: 'appeal' }, h('p', { class: 'muted' }, t('office.pick')));
  // Outside the card: it outlives the card's redraw after a move.
  const moveResult = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'move-result' });
  const mapBox = h('div', { class: 'map', id: 'map', role: 'region', 'aria-label': t('office.map') });
  const table = tableView({
    columns: [
      { key: 'public_number', title: t('office.number') },
      { key: 'category', title: t('office.category') },
      { key: 'status', title: t('office.status'), format: (a) => stat(a.status) },
      { key: 'due_at', title: t('office.due'), format: (a) => kyiv(a.due_at) },
    ],
    rows: () => state.appeals.filter((a) => Number.isFinite(a.lon)),
    onRow: (a) => open(a.id),
  });

  fill(main, h('div', { class: 'office' },
    h('div', {},
      panel(t('office.queue'),
        h('div', { class: 'row' },
          h('div', {}, h('label', { for: queueId }, t('office.queue')), queueSel),
          h('div', {}, h('label', { for: execId }, t('office.executor')), execSel)),
        msg, listBox),
      h('div', { class: 'office-map' }, mapBox), table.element,
      panel(t('office.summary'), summaryBox)),
    h('div', {}, panel(t('office.transition'), moveResult, detail))));

  const map = await createMap(mapBox);
  map.addSource('appeals', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'appeals', type: 'circle', source: 'appeals',
    paint: {
      'circle-radius': ['case', ['==', ['get', 'selected'], true], 9, 6],
      'circle-color': ['match', ['get', 'urgency'], 'overdue', '#b3261e', 'soon', '#e0a100', '#0a5cad'],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5,
    },
  });
  map.on('click', 'appeals', (ev) => { const f = ev.features?.[0]; if (f) open(f.properties.id); });
  map.on('mouseenter', 'appeals', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'appeals', () => { map.getCanvas().style.cursor = ''; });

  const drawPoints = (fit) => {
    const features = state.appeals.filter((a) => Number.isFinite(a.lon)).map((a) => ({
      type: 'Feature', id: a.id,
      geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
      properties: { id: a.id, urgency: urgency(a), selected: a.id === state.selected },
    }));
    const fc = { type: 'FeatureCollection', features };
    map.getSource('appeals').setData(fc);
    const b = extentOf(fc);
    if (fit && b && !location.hash.includes('map=')) {
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, maxZoom: 16, duration: 0 });
    }
  };

  async function loadQueue(fit = true) {
    const params = { ...QUEUES[state.queue], executor: state.executor, limit: 200 };
    try {
      const r = await get(`/api/appeals${qs(params)}`);
      state.appeals = r.appeals ?? [];
      drawList(r.numberMatched ?? state.appeals.length);
      drawPoints(fit);
      table.refresh();
    } catch (e) {
      status(msg, t('common.error', { detail: e.message }), 'error');
    }
  }

  function drawList(total) {
    if (!state.appeals.length) {
      fill(listBox, h('p', {}, t('office.empty')));
      return;
    }
    fill(listBox, h('table', { class: 'queue' },
      h('caption', {}, t('office.list', { n: state.appeals.length, total })),
      h('thead', {}, h('tr', {}, [t('office.number'), t('office.category'), t('office.status'), t('office.due'), t('office.executor'), t('office.address')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, state.appeals.map((a) => {
        const u = urgency(a);
        return h('tr', { class: [u, a.id === state.selected ? 'selected' : ''].filter(Boolean).join(' '), dataset: { id: a.id, status: a.status } },
          h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => open(a.id) }, a.public_number ?? `#${a.id}`)),
          h('td', {}, a.category ?? ''),
          h('td', {}, stat(a.status)),
          h('td', {}, kyiv(a.due_at), u ? [' ', h('span', { class: `badge ${u}` }, t(`office.${u}`))] : null),
          h('td', {}, executorName.get(a.executor_id) ?? a.executor_id ?? ''),
          h('td', {}, a.address_text ?? ''));
      }))));
  }

  async function loadSummary() {
    try {
      const r = await get(`/api/appeals/overdue?soon_days=${SOON_DAYS}`);
      const rows = r.executors ?? [];
      fill(summaryBox, rows.length ? h('table', {},
        h('thead', {}, h('tr', {}, [t('office.executor'), t('office.summary.open'), t('office.summary.overdue'), t('office.summary.soon', { n: r.soon_days })].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows.map((x) => h('tr', { class: x.overdue > 0 ? 'overdue' : x.soon_due > 0 ? 'soon' : '' },
          h('th', { scope: 'row' }, x.executor ?? '—'), h('td', {}, x.open), h('td', {}, x.overdue), h('td', {}, x.soon_due)))))
        : h('p', {}, t('office.empty')));
    } catch (e) {
      fill(summaryBox, h('p', { 'data-kind': 'error' }, t('common.error', { detail: e.message })));
    }
  }

  async function open(id, keepResult = false) {
    if (!keepResult) status(moveResult, '');
    state.selected = Number(id);
    drawList(state.appeals.length);
    drawPoints(false);
    let a;
    try {
      a = await get(`/api/appeals/${id}`);
    } catch (e) {
      fill(detail, h('p', { 'data-kind': 'error' }, t('common.error', { detail: e.message })));
      return;
    }
    const shown = Object.keys(a).filter((k) => titles[k] && !CONTACT.includes(k) && a[k] !== null && a[k] !== '');
    const contact = CONTACT.filter((k) => k in a);
    const moves = movesFor(a.status, me.roles);
    fill(detail,
      h('h3', { id: 'appeal-head' }, t('office.details', { number: a.public_number ?? `#${a.id}` })),
      h('dl', { class: 'props' }, shown.map((k) => [h('dt', {}, titles[k]), h('dd', {},
        k === 'status' ? stat(a[k]) : /_at$/.test(k) ? kyiv(a[k]) : k === 'executor_id' ? (executorName.get(a[k]) ?? a[k]) : String(a[k]))])),
      h('h3', {}, t('office.contact')),
      contact.length
        ? [h('dl', { class: 'props', id: 'contact' }, contact.map((k) => [h('dt', {}, titles[k] ?? k), h('dd', {}, a[k] ?? t('common.none'))])),
          h('p', { class: 'muted' }, t('office.contactLogged'))]
        : h('p', { class: 'note', id: 'no-contact' }, t('office.noContact')),
      a.routing ? [h('h3', {}, t('office.routing')), h('ul', {},
        a.routing.executor ? h('li', {}, `${t('office.executor')}: ${(lang() === 'en' && a.routing.executor.name_en) || a.routing.executor.name}`) : null,
        a.routing.electoral_district ? h('li', {}, t('office.district', { number: a.routing.electoral_district.number })) : null,
        a.routing.deputies?.length ? h('li', {}, `${t('office.deputies')}: ${a.routing.deputies.map((d) => d.full_name).join(', ')}`) : null)] : null,
      h('h3', {}, t('office.history')),
      a.transitions?.length
        ? h('ol', { id: 'moves' }, a.transitions.map((m) => h('li', {}, `${kyiv(m.at)} · ${stat(m.from)} → ${stat(m.to)}${m.actor ? ` · ${m.actor}` : ''}${m.comment ? ` — ${m.comment}` : ''}`)))
        : h('p', { class: 'muted' }, t('office.noHistory')),
      moves.length ? transitionForm(a, moves) : h('p', { class: 'muted' }, t('office.noMoves', { status: stat(a.status) })));
  }

  function transitionForm(a, moves) {
    const ids = Object.fromEntries(['to', 'comment', 'due', 'exec', 'study', 'public', 'dup', 'fwd'].map((k) => [k, nextId(k)]));
    const to = h('select', { id: ids.to, name: 'to' }, moves.map((m) => h('option', { value: m }, stat(m))));
    const commentLabel = h('label', { for: ids.comment }, t('office.comment'));
    const comment = h('textarea', { id: ids.comment, name: 'comment', rows: 3 });
    const extra = {
      extended: h('div', {}, h('label', { for: ids.due }, t('office.dueAt')), h('input', { id: ids.due, name: 'due_at', type: 'datetime-local' })),
      registered: h('div', {},
        h('label', { for: ids.exec }, t('office.executor')),
        h('select', { id: ids.exec, name: 'executor_id' }, h('option', { value: '' }, '—'),
          [...executorName].map(([id, name]) => h('option', { value: id, selected: id === a.executor_id }, name))),
        h('label', {}, h('input', { type: 'checkbox', name: 'no_extra_study', id: ids.study }), ' ', t('office.noExtraStudy')),
        h('label', {}, h('input', { type: 'checkbox', name: 'is_public', id: ids.public }), ' ', t('office.isPublic'))),
      duplicate: h('div', {}, h('label', { for: ids.dup }, t('office.duplicateOf')), h('input', { id: ids.dup, name: 'duplicate_of', type: 'number', step: '1' })),
      forwarded: h('div', {}, h('label', { for: ids.fwd }, t('office.forwardedTo')), h('input', { id: ids.fwd, name: 'forwarded_to' })),
    };
    const form = h('form', { id: 'transition-form' },
      h('label', { for: ids.to }, t('office.to')), to,
      Object.entries(extra).map(([k, el]) => { el.dataset.for = k; return el; }),
      commentLabel, comment,
      h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('office.move'))));
    const sync = () => {
      for (const [k, el] of Object.entries(extra)) el.hidden = to.value !== k;
      commentLabel.textContent = to.value === 'answered' ? t('office.answer') : to.value === 'rejected' ? t('office.reason') : t('office.comment');
    };
    to.addEventListener('change', sync);
    sync();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { to: to.value, comment: comment.value.trim() || undefined };
      if (to.value === 'extended') body.due_at = fromLocalInput(form.due_at.value) ?? undefined;
      if (to.value === 'registered') {
        if (form.executor_id.value) body.executor_id = Number(form.executor_id.value);
        body.no_extra_study = form.no_extra_study.checked;
        if (form.is_public.checked) body.is_public = true;
      }
      if (to.value === 'duplicate' && form.duplicate_of.value) body.duplicate_of = Number(form.duplicate_of.value);
      if (to.value === 'forwarded' && form.forwarded_to.value.trim()) body.forwarded_to = form.forwarded_to.value.trim();
      try {
        await request('POST', `/api/appeals/${a.id}/transitions`, { json: body });
        status(moveResult, t('office.moved', { from: stat(a.status), to: stat(body.to) }), 'ok');
        await loadQueue(false);
        await open(a.id, true);
        loadSummary();
      } catch (e) {
        status(moveResult, t('office.refused', { detail: e instanceof ApiError ? e.message : String(e) }), 'error');
      }
    });
    return form;
  }

  queueSel.addEventListener('change', () => { state.queue = queueSel.value; loadQueue(); });
  execSel.addEventListener('change', () => { state.executor = execSel.value; loadQueue(); });
  await Promise.all([loadQueue(), loadSummary()]);
  mapBox.dataset.ready = 'true';
  window.geoportalOffice = { map, state };
}
