// Shared by the staff pages' browser tests (staff_*.test.mjs).
import assert from 'node:assert/strict';
import { BASE_URL } from './browser.mjs';

/** Signs in through the page's own form. */
export async function signIn(page, user, password) {
  const form = page.locator('form.signin');
  await form.locator('[name=username]').fill(user);
  await form.locator('[name=password]').fill(password);
  // The server's answer decides; a failure says what the form showed.
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/auth/login') && r.request().method() === 'POST');
  await form.locator('button[type=submit]').click();
  const r = await answer;
  assert.equal(r.status(), 200, `sign-in as ${user}: ${r.status()} ${await r.text()}`);
  try {
    await page.locator('.staff-who').waitFor({ timeout: 30000 });
  } catch (e) {
    const shown = await page.locator('#app').innerText().catch(() => '');
    throw new Error(`signed in as ${user}, but the page did not show who: ${shown.slice(0, 500)}`, { cause: e });
  }
}

/** A bearer token from the API (what another client would hold). */
export async function apiToken(user, password) {
  const r = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user, password }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).token;
}

/**
 * How many distinct colours an element shows (its screenshot drawn onto a
 * 2D canvas in the page): a blank map has one or two.
 */
export async function colours(page, selector) {
  const png = await page.locator(selector).screenshot();
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 16) seen.add((d[i] >> 3) * 1024 + (d[i + 1] >> 3) * 32 + (d[i + 2] >> 3));
    return seen.size;
  }, png.toString('base64'));
}

/** Waits until the MapLibre map `name` on window has finished drawing. */
export async function mapIdle(page, expr) {
  await page.waitForFunction((e) => {
    // eslint-disable-next-line no-new-func
    const map = e.split('.').reduce((o, k) => o?.[k], window);
    return map && map.loaded() && map.areTilesLoaded() && !map.isMoving();
  }, expr, { timeout: 20000 });
}

/** Every 4xx/5xx answer the page got, as "status method url" (for messages). */
export function failures(page) {
  const list = [];
  page.on('response', (r) => { if (r.status() >= 400) list.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  return list;
}
