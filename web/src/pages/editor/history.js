// The history panel of a feature: `…/items/{fid}/versions` (who, when,
// what changed per attribute) with a restore button per older version.
import { request, get } from '../../lib/staff/api.js';
import { h, fill } from '../../lib/staff/dom.js';
import { pick, t } from '../../lib/staff/i18n.js';
import { kyiv } from '../../lib/staff/time.js';

const fmt = (v) => (v === null || v === undefined ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * Fills `el` with the versions of feature `fid`; `etag()` gives the current
 * ETag for a restore; `onRestored(version, response)` after one.
 */
export async function showHistory(el, layer, fid, { etag, onRestored, onError }) {
  const titles = Object.fromEntries(layer.attributes.map((a) => [a.name, pick(a.title)]));
  const doc = await get(`/ogc/collections/${encodeURIComponent(layer.id)}/items/${fid}/versions`);
  const versions = doc.versions ?? [];
  if (!versions.length) {
    fill(el, h('p', {}, t('history.empty')));
    return;
  }
  const latest = Math.max(...versions.map((v) => v.version ?? 0));
  const items = [...versions].reverse().map((v) => {
    const op = t(`history.op.${v.operation}`);
    const restore = v.version && v.version !== latest && v.operation !== 'soft_delete' && v.operation !== 'delete'
      ? h('button', {
        type: 'button', class: 'secondary', dataset: { version: v.version },
        onclick: async (ev) => {
          ev.currentTarget.disabled = true;
          try {
            const r = await request('POST', `/ogc/collections/${encodeURIComponent(layer.id)}/items/${fid}/versions/${v.version}/restore`, {
              headers: { 'If-Match': etag() },
            });
            onRestored(v.version, r);
          } catch (e) {
            onError(e);
          }
        },
      }, t('history.restore', { version: v.version }))
      : null;
    return h('li', { dataset: { version: v.version ?? '' } },
      h('strong', {}, t('history.version', { version: v.version ?? '?' })),
      v.version === latest ? ` ${t('history.current')}` : '',
      ` · ${kyiv(v.at)} · ${op}`, v.actor ? ` · ${v.actor}` : '',
      (v.changes?.length || v.geometryChanged) ? h('ul', { class: 'changes' },
        (v.changes ?? []).map((c) => h('li', {}, `${titles[c.attribute] ?? c.attribute}: ${fmt(c.old)} → ${fmt(c.new)}`)),
        v.geometryChanged ? h('li', {}, t('history.geometryChanged')) : null) : null,
      restore);
  });
  fill(el, h('ol', { class: 'history', reversed: true }, items));
}
