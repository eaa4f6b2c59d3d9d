// File import into the layer: a dry run first (nothing written, the
// per-row report shown), then the real import of the same file.
import { ApiError, request } from '../../lib/staff/api.js';
import { h, fill, nextId } from '../../lib/staff/dom.js';
import { t } from '../../lib/staff/i18n.js';

export function importPanel(layer, { onImported }) {
  const id = nextId('import-file');
  const file = h('input', { type: 'file', id, name: 'file', accept: '.geojson,.json,.csv,.txt,.zip,.gpkg,.xml' });
  const report = h('div', { class: 'import-report', 'aria-live': 'polite' });
  const dry = h('button', { type: 'button', class: 'secondary' }, t('import.dry'));
  const run = h('button', { type: 'button', disabled: true, title: t('import.needDry') }, t('import.run'));
  let checked = null;
  file.addEventListener('change', () => { checked = null; run.disabled = true; fill(report); });

  const send = async (dryRun) => {
    const f = file.files?.[0];
    if (!f) { file.focus(); return; }
    const body = new FormData();
    body.append('file', f, f.name);
    fill(report, h('p', {}, t('import.busy')));
    dry.disabled = true; run.disabled = true;
    try {
      const r = await request('POST', `/api/layers/${encodeURIComponent(layer.id)}/import?dry_run=${dryRun}`, { body });
      show(report, r.body);
      if (dryRun) { checked = f; run.disabled = false; } else { checked = null; onImported?.(r.body); }
    } catch (e) {
      if (e instanceof ApiError && e.problem?.report) show(report, e.problem.report, e.problem.detail);
      else fill(report, h('p', { 'data-kind': 'error', role: 'alert' }, t('common.error', { detail: e.message })));
    } finally {
      dry.disabled = false;
      if (checked !== f) run.disabled = true;
    }
  };
  dry.addEventListener('click', () => send(true));
  run.addEventListener('click', () => send(false));
  return h('div', {}, h('label', { for: id }, t('import.file')), file, h('div', { class: 'toolbar' }, dry, run), report);
}

function show(el, r, detail) {
  const rejected = r.rejected ?? [];
  fill(el,
    detail ? h('p', { 'data-kind': 'error', role: 'alert' }, detail) : null,
    h('p', { class: 'import-summary' }, t('import.report', { read: r.rows_read, imported: r.rows_imported, rejected: rejected.length })),
    r.committed ? h('p', { 'data-kind': 'ok' }, t('import.committed', { n: r.rows_imported, batch: r.batch_id ?? '—' }))
      : (!rejected.length && r.dry_run ? h('p', { 'data-kind': 'ok' }, t('import.dryOk')) : null),
    Object.keys(r.columns ?? {}).length ? h('details', {}, h('summary', {}, t('import.columns')),
      h('ul', {}, Object.entries(r.columns).map(([c, f]) => h('li', {}, `${c} → ${f}`)))) : null,
    r.ignored_columns?.length ? h('p', { class: 'muted' }, t('import.ignored', { list: r.ignored_columns.join(', ') })) : null,
    rejected.length ? h('table', { class: 'rejected' },
      h('caption', {}, t('import.rejected')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('import.row')), h('th', { scope: 'col' }, t('import.field')), h('th', { scope: 'col' }, t('import.message')))),
      h('tbody', {}, rejected.map((x) => h('tr', {}, h('td', {}, x.row), h('td', {}, x.field ?? ''), h('td', {}, x.message))))) : null);
}
