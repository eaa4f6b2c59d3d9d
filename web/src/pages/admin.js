// Page: administration (/admin). Accounts and roles, API keys (shown
// once), the appeal categories (the appeal_categories register) and who
// answers them (the
// executor_responsibility register through OGC API Features Part 4), the
// working-day calendar (the working_calendar register), and layers
// published or hidden by the admin's switch (/api/admin/layers).
import './admin/strings.js';
import { get, request } from '../lib/staff/api.js';
import { h, fill, nextId, status } from '../lib/staff/dom.js';
import { lang, pick, t } from '../lib/staff/i18n.js';
import { panel, startStaffPage } from '../lib/staff/shell.js';
import { kyiv } from '../lib/staff/time.js';

// Role::ACCOUNT_ROLES of src/registry/model.rs.
const ROLES = ['resident', 'appeals_operator', 'executor', 'land_editor', 'property_editor', 'energy_editor',
  'ads_editor', 'investment_editor', 'budget_editor', 'deputy', 'investor', 'admin'];
const items = (id) => `/ogc/collections/${id}/items`;

startStaffPage({ titleKey: 'admin.title', render });

function field(labelText, input) {
  input.id ||= nextId('f');
  return h('div', { class: 'field' }, h('label', { for: input.id }, labelText), input);
}

function roleBoxes(name, checked = []) {
  return h('fieldset', { class: 'roles' }, h('legend', {}, t('admin.roles')),
    ROLES.map((r) => h('label', {}, h('input', { type: 'checkbox', name, value: r, checked: checked.includes(r) }), r)));
}
const checkedRoles = (root, name) => [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

/** Adds a register row through Part 4. */
function createRow(layer, properties) {
  return request('POST', items(layer), { type: 'application/geo+json', json: { type: 'Feature', geometry: null, properties } });
}

/** Changes a register row through Part 4: its current ETag first, then the write. */
async function writeRow(layer, id, method, json) {
  const cur = await request('GET', `${items(layer)}/${id}`);
  return request(method, `${items(layer)}/${id}`, {
    json, type: method === 'PATCH' ? 'application/merge-patch+json' : undefined, headers: { 'If-Match': cur.etag },
  });
}

async function render(main, me) {
  if (!me.roles.includes('admin')) {
    fill(main, h('p', { class: 'note' }, t('admin.notAdmin')));
    return;
  }
  const executors = await get(`${items('executors')}?limit=1000`).catch(() => ({ features: [] }));
  const execName = new Map((executors.features ?? []).map((f) => [f.id, (lang() === 'en' && f.properties.name_en) || f.properties.name]));
  const execSelect = (name, value) => h('select', { name },
    h('option', { value: '' }, t('admin.noExecutor')),
    [...execName].map(([id, n]) => h('option', { value: id, selected: id === value }, n)));

  const usersBox = h('div', { id: 'users' });
  const keysBox = h('div', { id: 'keys' });
  const catListBox = h('div', { id: 'category-list' });
  const catBox = h('div', { id: 'categories' });
  const calBox = h('div', { id: 'calendar' });
  const layersBox = h('div', { id: 'layers' });
  fill(main, h('div', { class: 'admin' },
    panel(t('admin.users'), usersBox),
    panel(t('admin.keys'), keysBox),
    panel(t('admin.catalogue'), catListBox),
    panel(t('admin.categories'), catBox),
    panel(t('admin.calendar'), calBox),
    panel(t('admin.layers'), layersBox)));

  // Users and roles.
  const userMsg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'user-result' });
  const userList = h('div');
  const loadUsers = async () => {
    const users = await get('/api/admin/users');
    fill(userList, h('table', {},
      h('thead', {}, h('tr', {}, [t('admin.username'), t('admin.displayName'), t('admin.roles'), t('admin.executor'), t('admin.state')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, users.map((u) => {
        const rolesForm = h('form', { class: 'edit-roles' }, roleBoxes(`roles-${u.id}`, u.roles), h('button', { type: 'submit', class: 'secondary' }, t('admin.saveRoles')));
        rolesForm.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          try {
            await request('PATCH', `/api/admin/users/${u.id}`, { json: { roles: checkedRoles(rolesForm, `roles-${u.id}`) } });
            status(userMsg, t('admin.changed'), 'ok');
            await loadUsers();
          } catch (e) { status(userMsg, t('admin.failed', { detail: e.message }), 'error'); }
        });
        return h('tr', { dataset: { user: u.username } },
          h('th', { scope: 'row' }, u.username, u.email ? h('div', { class: 'muted' }, u.email) : null),
          h('td', {}, u.display_name ?? ''),
          h('td', {}, u.roles.join(', '), h('details', {}, h('summary', {}, t('admin.editRoles')), rolesForm)),
          h('td', {}, u.executor_id ? (execName.get(u.executor_id) ?? u.executor_id) : ''),
          h('td', {}, u.disabled_at ? `${t('admin.disabled')} ` : '',
            u.id === me.user?.id ? null : h('button', {
              type: 'button', class: 'secondary',
              onclick: async () => {
                try {
                  await request('PATCH', `/api/admin/users/${u.id}`, { json: { disabled: !u.disabled_at } });
                  status(userMsg, t('admin.changed'), 'ok');
                  await loadUsers();
                } catch (e) { status(userMsg, t('admin.failed', { detail: e.message }), 'error'); }
              },
            }, u.disabled_at ? t('admin.enable') : t('admin.disable'))));
      }))));
  };
  const userForm = h('form', { id: 'new-user' },
    h('h3', {}, t('admin.newUser')),
    field(t('admin.username'), h('input', { name: 'username', required: true, autocomplete: 'off' })),
    field(t('admin.password'), h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' })),
    field(t('admin.displayName'), h('input', { name: 'display_name' })),
    field(t('admin.email'), h('input', { name: 'email', type: 'email' })),
    roleBoxes('new-roles'),
    field(t('admin.executor'), execSelect('executor_id')),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('admin.createUser'))));
  userForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = userForm;
    try {
      const r = await request('POST', '/api/admin/users', {
        json: {
          username: f.username.value.trim(), password: f.password.value,
          roles: checkedRoles(f, 'new-roles'),
          display_name: f.display_name.value.trim() || null, email: f.email.value.trim() || null,
          executor_id: f.executor_id.value ? Number(f.executor_id.value) : null,
        },
      });
      status(userMsg, t('admin.userCreated', { name: r.body.username }), 'ok');
      f.reset();
      await loadUsers();
    } catch (e) { status(userMsg, t('admin.failed', { detail: e.message }), 'error'); }
  });
  fill(usersBox, userList, userForm, userMsg);

  // API keys.
  const keyMsg = h('div', { role: 'status', 'aria-live': 'polite', id: 'key-result' });
  const keyList = h('div');
  const loadKeys = async () => {
    const keys = await get('/api/admin/api-keys');
    fill(keyList, keys.length ? h('table', {},
      h('thead', {}, h('tr', {}, [t('admin.keyName'), t('admin.prefix'), t('admin.roles'), t('admin.created'), t('admin.lastUsed'), t('admin.state')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, keys.map((k) => h('tr', { dataset: { key: k.id } },
        h('th', { scope: 'row' }, k.name), h('td', {}, h('code', {}, `${k.prefix}…`)), h('td', {}, k.roles.join(', ')),
        h('td', {}, kyiv(k.created_at)), h('td', {}, kyiv(k.last_used_at)),
        h('td', {}, k.revoked_at ? `${t('admin.revoked')} ${kyiv(k.revoked_at)}` : h('button', {
          type: 'button', class: 'danger',
          onclick: async () => {
            try { await request('DELETE', `/api/admin/api-keys/${k.id}`); await loadKeys(); } catch (e) { status(keyMsg, t('admin.failed', { detail: e.message }), 'error'); }
          },
        }, t('admin.revoke'))))))) : null);
  };
  const keyForm = h('form', { id: 'new-key' },
    h('h3', {}, t('admin.newKey')),
    field(t('admin.keyName'), h('input', { name: 'name', required: true })),
    roleBoxes('key-roles'),
    field(t('admin.executor'), execSelect('executor_id')),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('admin.createKey'))));
  keyForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await request('POST', '/api/admin/api-keys', {
        json: {
          name: keyForm.name.value.trim(), roles: checkedRoles(keyForm, 'key-roles'),
          executor_id: keyForm.executor_id.value ? Number(keyForm.executor_id.value) : null,
        },
      });
      // The only time the key exists outside the client: shown once, never stored.
      const out = h('output', { class: 'secret', id: 'new-key-value' }, r.body.key);
      fill(keyMsg, h('p', { class: 'note' }, t('admin.keyOnce')), out);
      keyForm.reset();
      await loadKeys();
    } catch (e) { fill(keyMsg, h('p', { 'data-kind': 'error' }, t('admin.failed', { detail: e.message }))); }
  });
  fill(keysBox, keyList, keyForm, keyMsg);

  const reloadRouting = () => loadCategories(catBox, me, execName, execSelect);
  await Promise.all([loadUsers(), loadKeys(), loadCatalogue(catListBox, reloadRouting),
    reloadRouting(), loadCalendar(calBox), loadLayers(layersBox)]);
  main.dataset.ready = 'true';
}

/** The problem's field messages, or its detail. */
function problemText(e) {
  return e.problem?.errors?.map((x) => `${x.field}: ${x.message}`).join('; ') || e.problem?.detail || e.message;
}

/**
 * The appeal categories themselves (the appeal_categories register): titles
 * and radius edited in place, a category retired (soft delete: appeals keep
 * it, residents are no longer offered it), a new one added. `onChange`
 * refreshes the routing panel, whose category list follows.
 */
async function loadCatalogue(box, onChange) {
  const msg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'catalogue-result' });
  const doc = await get(`${items('appeal_categories')}?limit=1000&sortby=sort_order`);
  const rows = doc.features ?? [];
  const reload = async () => { await loadCatalogue(box, onChange); await onChange(); };
  const input = (name, value, label, extra = {}) => h('input', { name, value: value ?? '', 'aria-label': label, ...extra });
  const table = h('table', {},
    h('thead', {}, h('tr', {}, [t('admin.code'), t('admin.titleUk'), t('admin.titleEn'), t('admin.radius'), ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((f) => {
      const p = f.properties;
      const uk = input('title_uk', p.title_uk, `${t('admin.titleUk')}: ${p.code}`, { required: true });
      const en = input('title_en', p.title_en, `${t('admin.titleEn')}: ${p.code}`, { required: true });
      const radius = input('radius_m', p.radius_m, `${t('admin.radius')}: ${p.code}`, { type: 'number', min: 1, step: 1 });
      return h('tr', { dataset: { category: p.code } },
        h('th', { scope: 'row' }, p.parent_code ? `${p.parent_code} › ` : '', h('code', {}, p.code)),
        h('td', {}, uk), h('td', {}, en), h('td', {}, radius),
        h('td', {},
          h('button', {
            type: 'button', class: 'secondary', onclick: async () => {
              try {
                await writeRow('appeal_categories', f.id, 'PATCH', { properties: { title_uk: uk.value, title_en: en.value, radius_m: Number(radius.value) } });
                status(msg, t('admin.changed'), 'ok');
                await onChange();
              } catch (e) { status(msg, t('admin.failed', { detail: problemText(e) }), 'error'); }
            },
          }, t('admin.saveRow')), ' ',
          h('button', {
            type: 'button', class: 'danger', onclick: async () => {
              try { await writeRow('appeal_categories', f.id, 'DELETE'); await reload(); status(box.querySelector('#catalogue-result'), t('admin.retired', { code: p.code }), 'ok'); } catch (e) { status(msg, t('admin.failed', { detail: problemText(e) }), 'error'); }
            },
          }, t('admin.retire'))));
    })));
  const form = h('form', { id: 'new-category' }, h('h3', {}, t('admin.addCategory')),
    field(t('admin.code'), h('input', { name: 'code', required: true, pattern: '[a-z_]+(\\.[a-z_]+)*', placeholder: 'roads.snow' })),
    field(t('admin.parent'), h('select', { name: 'parent_code' }, h('option', { value: '' }, t('admin.noParent')),
      rows.filter((f) => !f.properties.parent_code).map((f) => h('option', { value: f.properties.code }, `${pick({ uk: f.properties.title_uk, en: f.properties.title_en })} (${f.properties.code})`)))),
    field(t('admin.titleUk'), h('input', { name: 'title_uk', required: true })),
    field(t('admin.titleEn'), h('input', { name: 'title_en', required: true })),
    field(t('admin.radius'), h('input', { name: 'radius_m', type: 'number', min: 1, step: 1, value: 250 })),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('admin.addCategory'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await createRow('appeal_categories', {
        code: form.code.value.trim(),
        parent_code: form.parent_code.value || null,
        title_uk: form.title_uk.value.trim(),
        title_en: form.title_en.value.trim(),
        radius_m: Number(form.radius_m.value) || 250,
        sort_order: rows.length + 1,
      });
      await reload();
      status(box.querySelector('#catalogue-result'), t('admin.changed'), 'ok');
    } catch (e) { status(msg, t('admin.failed', { detail: problemText(e) }), 'error'); }
  });
  fill(box, h('p', { class: 'note' }, t('admin.catalogueNote')), table, form, msg);
}

async function loadCategories(box, me, execName, execSelect) {
  const canEdit = me.roles.includes('appeals_operator');
  const msg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'category-result' });
  const [services, rules, districts] = await Promise.all([
    get('/open311/v2/services.json'),
    get(`${items('executor_responsibility')}?limit=1000`),
    get(`${items('admin_districts')}?limit=100&properties=name,name_en`).catch(() => ({ features: [] })),
  ]);
  const distName = new Map((districts.features ?? []).map((f) => [f.id, (lang() === 'en' && f.properties.name_en) || f.properties.name]));
  const catName = new Map(services.map((s) => [s.service_code, s.service_name]));
  const rows = (rules.features ?? []).sort((a, b) => String(a.properties.category).localeCompare(String(b.properties.category)));
  const routed = new Set(rows.map((r) => r.properties.category));
  const unrouted = services.map((s) => s.service_code).filter((c) => !routed.has(c));
  const reload = () => loadCategories(box, me, execName, execSelect);
  const table = h('table', {},
    h('thead', {}, h('tr', {}, [t('admin.category'), t('admin.district'), t('admin.executor'), ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => {
      const p = r.properties;
      const sel = execSelect('executor_id', p.executor_id);
      sel.setAttribute('aria-label', `${t('admin.executor')}: ${p.category}`);
      return h('tr', { dataset: { rule: r.id } },
        h('th', { scope: 'row' }, catName.get(p.category) ?? p.category, h('div', { class: 'muted' }, p.category)),
        h('td', {}, p.admin_district_id ? (distName.get(p.admin_district_id) ?? p.admin_district_id) : t('admin.wholeCity')),
        h('td', {}, canEdit ? sel : (execName.get(p.executor_id) ?? p.executor_id)),
        h('td', {}, canEdit ? [
          h('button', {
            type: 'button', class: 'secondary', onclick: async () => {
              try { await writeRow('executor_responsibility', r.id, 'PATCH', { properties: { executor_id: Number(sel.value) || null } }); status(msg, t('admin.changed'), 'ok'); } catch (e) { status(msg, t('admin.failed', { detail: e.message }), 'error'); }
            },
          }, t('admin.saveRow')), ' ',
          h('button', {
            type: 'button', class: 'danger', onclick: async () => {
              try { await writeRow('executor_responsibility', r.id, 'DELETE'); await reload(); } catch (e) { status(msg, t('admin.failed', { detail: e.message }), 'error'); }
            },
          }, t('admin.delete'))] : null));
    })));
  let form = null;
  if (canEdit) {
    form = h('form', { id: 'new-rule' }, h('h3', {}, t('admin.addRule')),
      field(t('admin.category'), h('select', { name: 'category', required: true }, services.map((s) => h('option', { value: s.service_code }, `${s.service_name} (${s.service_code})`)))),
      field(t('admin.district'), h('select', { name: 'admin_district_id' }, h('option', { value: '' }, t('admin.wholeCity')), [...distName].map(([id, n]) => h('option', { value: id }, n)))),
      field(t('admin.executor'), execSelect('executor_id')),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('admin.addRule'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await createRow('executor_responsibility', {
          category: form.category.value,
          admin_district_id: form.admin_district_id.value ? Number(form.admin_district_id.value) : null,
          executor_id: form.executor_id.value ? Number(form.executor_id.value) : null,
        });
        await reload();
        status(box.querySelector('#category-result'), t('admin.changed'), 'ok');
      } catch (e) {
        const detail = e.problem?.errors?.map((x) => `${x.field}: ${x.message}`).join('; ') || e.message;
        status(msg, t('admin.failed', { detail }), 'error');
      }
    });
  }
  fill(box,
    canEdit ? null : h('p', { class: 'note' }, t('admin.operatorOnly')),
    table,
    unrouted.length ? h('p', { class: 'muted' }, t('admin.unrouted', { list: unrouted.join(', ') })) : null,
    form, msg);
}

async function loadCalendar(box) {
  const msg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'calendar-result' });
  const doc = await get(`${items('working_calendar')}?limit=1000&sortby=-day`);
  const reload = () => loadCalendar(box);
  const form = h('form', { id: 'new-day' },
    field(t('admin.day'), h('input', { name: 'day', type: 'date', required: true })),
    h('label', {}, h('input', { type: 'checkbox', name: 'is_working' }), ' ', t('admin.isWorking')),
    field(t('admin.note'), h('input', { name: 'note' })),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('admin.addDay'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await createRow('working_calendar', { day: form.day.value, is_working: form.is_working.checked, note: form.note.value.trim() || null });
      await reload();
      status(box.querySelector('#calendar-result'), t('admin.changed'), 'ok');
    } catch (e) {
      const detail = e.problem?.errors?.map((x) => `${x.field}: ${x.message}`).join('; ') || e.message;
      status(msg, t('admin.failed', { detail }), 'error');
    }
  });
  fill(box, h('p', { class: 'muted' }, t('admin.calendarNote')),
    h('div', { class: 'table-view', style: { maxHeight: '18rem' } }, h('table', {},
      h('thead', {}, h('tr', {}, [t('admin.day'), t('admin.state'), t('admin.note'), ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, (doc.features ?? []).map((f) => h('tr', { dataset: { day: f.properties.day } },
        h('th', { scope: 'row' }, f.properties.day),
        h('td', {}, f.properties.is_working ? t('admin.working') : t('admin.dayOff')),
        h('td', {}, f.properties.note ?? ''),
        h('td', {}, h('button', {
          type: 'button', class: 'danger', onclick: async () => {
            try { await writeRow('working_calendar', f.id, 'DELETE'); await reload(); } catch (e) { status(msg, t('admin.failed', { detail: e.message }), 'error'); }
          },
        }, t('admin.delete')))))))),
    form, msg);
}

async function loadLayers(box) {
  // The admin's switch (/api/admin/layers) wins over the layer file's
  // `published`; every instance follows it within a second.
  const msg = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'layer-result' });
  const layers = await get('/api/admin/layers');
  const reload = () => loadLayers(box);
  const change = async (l, method, json) => {
    try {
      const r = await request(method, `/api/admin/layers/${encodeURIComponent(l.id)}/publication`, { json });
      await reload();
      status(box.querySelector('#layer-result'), t(r.body.published ? 'admin.layerNowPublished' : 'admin.layerNowHidden', { layer: pick(r.body.title) }), 'ok');
    } catch (e) { status(msg, t('admin.failed', { detail: e.message }), 'error'); }
  };
  const fileState = (p) => (p ? t('admin.layerPublished') : t('admin.layerHidden'));
  const actions = (l) => {
    const toggle = h('button', {
      type: 'button', class: l.published ? 'danger' : 'secondary', 'data-action': l.published ? 'hide' : 'publish',
      'aria-label': `${l.published ? t('admin.hide') : t('admin.publish')}: ${pick(l.title)}`,
      onclick: () => change(l, 'PUT', { published: !l.published }),
    }, l.published ? t('admin.hide') : t('admin.publish'));
    if (l.override_published === null) return [toggle];
    const reset = h('button', {
      type: 'button', class: 'secondary', 'data-action': 'reset',
      'aria-label': `${t('admin.useFile')}: ${pick(l.title)}`,
      onclick: () => change(l, 'DELETE'),
    }, t('admin.useFile'));
    return [toggle, ' ', reset];
  };
  // Narrow panel: the state cell carries the file's setting and who switched it.
  const row = (l) => h('tr', { dataset: { layer: l.id, published: l.published } },
    h('th', { scope: 'row' }, pick(l.title), h('div', { class: 'muted' }, `${l.id} · ${l.group}`)),
    h('td', {}, l.published ? t('admin.layerPublished') : h('strong', {}, t('admin.layerHidden')),
      h('div', { class: 'muted' }, `${t('admin.fileSetting')}: ${fileState(l.file_published)}`),
      l.override_published === null ? null
        : h('div', { class: 'muted' }, t('admin.switchedBy', { who: l.changed_by ?? '?', when: kyiv(l.changed_at) }))),
    h('td', {}, actions(l)));
  const head = [t('admin.layer'), t('admin.state'), ''];
  fill(box, h('p', { class: 'muted' }, t('admin.layersNote')),
    h('div', { class: 'table-view', style: { maxHeight: '28rem' } }, h('table', {},
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, layers.map(row)))),
    msg);
}
