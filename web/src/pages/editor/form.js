// The attribute form of a layer, generated from the registry's attribute
// list (`/api/layers/{id}`: name, type, title, unit, values, editable).
// Server 422 messages are shown at their fields (aria-invalid +
// aria-describedby), so a screen reader reads them with the field.
import { h, nextId } from '../../lib/staff/dom.js';
import { pick, t } from '../../lib/staff/i18n.js';
import { fromLocalInput, kyiv, toLocalInput } from '../../lib/staff/time.js';

function control(attr, id, value) {
  const common = { id, name: attr.name };
  if (attr.values?.length) {
    return h('select', common, h('option', { value: '' }, '—'),
      attr.values.map((v) => h('option', { value: v, selected: v === value }, v)));
  }
  switch (attr.type) {
    case 'integer':
      return h('input', { ...common, type: 'number', step: '1', inputmode: 'numeric', value: value ?? '' });
    case 'number':
    case 'money':
      return h('input', { ...common, type: 'number', step: 'any', inputmode: 'decimal', value: value ?? '' });
    case 'boolean':
      return h('select', common, h('option', { value: '' }, '—'),
        h('option', { value: 'true', selected: value === true }, t('common.yes')),
        h('option', { value: 'false', selected: value === false }, t('common.no')));
    case 'date':
      return h('input', { ...common, type: 'date', value: value ?? '' });
    case 'datetime':
      return h('input', { ...common, type: 'datetime-local', value: toLocalInput(value) });
    case 'json':
      return h('textarea', { ...common, rows: 3 }, value === null || value === undefined ? '' : JSON.stringify(value, null, 1));
    case 'string_list':
      return h('input', { ...common, value: Array.isArray(value) ? value.join(', ') : '' });
    default:
      return h('input', { ...common, value: value ?? '' });
  }
}

function read(attr, el) {
  const raw = el.value.trim();
  if (raw === '') return null;
  switch (attr.type) {
    case 'integer': {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new Error(t('editor.badNumber'));
      return n;
    }
    case 'number':
    case 'money': {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(t('editor.badNumber'));
      return n;
    }
    case 'boolean': return raw === 'true';
    case 'datetime': return fromLocalInput(raw);
    case 'json':
      try { return JSON.parse(raw); } catch { throw new Error(t('editor.badJson')); }
    case 'string_list': return raw.split(',').map((s) => s.trim()).filter(Boolean);
    default: return el.value;
  }
}

function show(attr, value) {
  if (value === null || value === undefined || value === '') return t('common.none');
  if (attr.type === 'boolean') return value ? t('common.yes') : t('common.no');
  if (attr.type === 'datetime') return kyiv(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return `${value}${attr.unit ? ` ${attr.unit}` : ''}`;
}

/**
 * The form for `layer` with `properties`. Returns {element, values(),
 * showErrors(errors) → unmatched errors, clearErrors()}.
 */
export function attributeForm(layer, properties = {}) {
  const fields = new Map();
  const editable = layer.attributes.filter((a) => a.editable);
  const readonly = layer.attributes.filter((a) => !a.editable);
  const element = h('div', { class: 'attr-form' },
    editable.map((a) => {
      const id = nextId(`attr-${a.name}`);
      const err = h('p', { class: 'field-error', id: `${id}-err`, hidden: true });
      const input = control(a, id, properties[a.name]);
      fields.set(a.name, { attr: a, input, err });
      return h('div', { class: 'field', dataset: { field: a.name } },
        h('label', { for: id }, pick(a.title), a.unit ? ` (${a.unit})` : ''),
        input, err);
    }),
    readonly.length ? h('details', { class: 'readonly' },
      h('summary', {}, t('editor.readonly')),
      h('dl', { class: 'props' }, readonly.map((a) => [h('dt', {}, pick(a.title)), h('dd', {}, show(a, properties[a.name]))]))) : null);

  const setError = (f, message) => {
    f.err.textContent = message;
    f.err.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
    f.input.setAttribute('aria-describedby', f.err.id);
  };
  const clearErrors = () => {
    for (const f of fields.values()) {
      f.err.hidden = true;
      f.err.textContent = '';
      f.input.removeAttribute('aria-invalid');
      f.input.removeAttribute('aria-describedby');
    }
  };
  return {
    element,
    clearErrors,
    /** The editable attributes' values; throws after marking bad fields. */
    values() {
      clearErrors();
      const out = {};
      let bad = 0;
      for (const [name, f] of fields) {
        try { out[name] = read(f.attr, f.input); } catch (e) { setError(f, e.message); bad += 1; }
      }
      if (bad) throw Object.assign(new Error(t('editor.invalid', { n: bad })), { client: true });
      return out;
    },
    /** Marks each `{field, message}`; returns those that name no field here. */
    showErrors(errors) {
      clearErrors();
      const rest = [];
      let first = null;
      for (const e of errors ?? []) {
        const f = fields.get(e.field);
        if (f) {
          setError(f, f.err.textContent ? `${f.err.textContent}; ${e.message}` : e.message);
          first ??= f.input;
        } else rest.push(e);
      }
      first?.focus();
      return rest;
    },
  };
}
