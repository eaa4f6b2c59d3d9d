// Times: stored UTC, shown in Europe/Kyiv.
import { lang } from './i18n.js';

export function kyiv(value, withTime = true) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const opts = withTime
    ? { timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }
    : { timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit', day: '2-digit' };
  return new Intl.DateTimeFormat(lang() === 'en' ? 'en-GB' : 'uk-UA', opts).format(d);
}

/** `datetime-local` input value (Kyiv wall time) of an ISO instant. */
export function toLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Kyiv', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

/** An ISO instant of a `datetime-local` value read as Kyiv wall time. */
export function fromLocalInput(text) {
  if (!text) return null;
  // Find Kyiv's offset at that moment: interpret as UTC, see what Kyiv shows, correct.
  const asUtc = new Date(`${text}:00Z`);
  if (Number.isNaN(asUtc.getTime())) return null;
  const shown = new Date(`${toLocalInput(asUtc.toISOString())}:00Z`);
  const offset = shown.getTime() - asUtc.getTime();
  return new Date(asUtc.getTime() - offset).toISOString();
}
