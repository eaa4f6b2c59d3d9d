// Administration (/admin): a new user, an API key shown once (and working),
// appeal categories added, renamed and retired, who answers a category, a
// calendar day, a layer hidden and published again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openPage, screenshot } from './browser.mjs';
import { failures, signIn } from './staff_support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an admin makes a user, issues a key and edits the registers', async () => {
  const { page, errors } = await openPage(browser);
  const failed = failures(page);
  await page.goto('/admin');
  await signIn(page, process.env.ADMIN_USER, process.env.STAFF_PASSWORD);
  await page.locator('.staff-main[data-ready=true]').waitFor({ timeout: 30000 });

  // A user.
  const userForm = page.locator('#new-user');
  await userForm.locator('[name=username]').fill('new.clerk');
  await userForm.locator('[name=password]').fill('a-long-password-2');
  await userForm.locator('[name=display_name]').fill('Нова Працівниця');
  await userForm.locator('input[name=new-roles][value=land_editor]').check();
  await userForm.locator('button[type=submit]').click();
  await page.locator('#user-result', { hasText: 'new.clerk' }).waitFor();
  await page.locator('#users tr[data-user="new.clerk"]', { hasText: 'land_editor' }).waitFor();

  // An API key: shown once, and it works.
  const keyForm = page.locator('#new-key');
  await keyForm.locator('[name=name]').fill('Open311 app');
  await keyForm.locator('input[name=key-roles][value=appeals_operator]').check();
  await keyForm.locator('button[type=submit]').click();
  const key = (await page.locator('#new-key-value').textContent()).trim();
  assert.match(key, /^gpk_/);
  const me = await fetch(`${process.env.GEOPORTAL_BASE_URL}/api/auth/me`, { headers: { 'X-API-Key': key } });
  assert.equal(me.status, 200);
  assert.deepEqual((await me.json()).roles, ['appeals_operator']);
  await page.locator('#keys tbody tr', { hasText: 'Open311 app' }).waitFor();
  assert.equal(await page.locator('#keys tbody', { hasText: key }).count(), 0, 'the list never shows the key');

  // Who answers a category: another executor for the first rule.
  const rule = page.locator('#categories tbody tr').first();
  const select = rule.locator('select[name=executor_id]');
  const current = await select.inputValue();
  const other = await select.locator('option').evaluateAll((opts, cur) => opts.map((o) => o.value).find((v) => v && v !== cur), current);
  await select.selectOption(other);
  await rule.getByRole('button', { name: 'Зберегти' }).click();
  await page.locator('#category-result', { hasText: 'Збережено' }).waitFor();

  // The categories themselves: one added under "roads", offered at once to
  // the routing form, renamed, then retired.
  const newCat = page.locator('#new-category');
  await newCat.locator('[name=code]').fill('roads.snow');
  await newCat.locator('[name=parent_code]').selectOption('roads');
  await newCat.locator('[name=title_uk]').fill('Сніг на дорозі');
  await newCat.locator('[name=title_en]').fill('Snow on the road');
  await newCat.locator('[name=radius_m]').fill('120');
  await newCat.locator('button[type=submit]').click();
  const snow = page.locator('#category-list tr[data-category="roads.snow"]');
  await snow.waitFor();
  await page.locator('#new-rule select[name=category] option[value="roads.snow"]').waitFor({ state: 'attached' });
  await snow.locator('[name=title_uk]').fill('Сніг і ожеледь на дорозі');
  await snow.getByRole('button', { name: 'Зберегти' }).click();
  await page.locator('#catalogue-result', { hasText: 'Збережено' }).waitFor();
  await snow.scrollIntoViewIfNeeded();
  await screenshot(page, 'staff-admin-categories');
  // A code that breaks the pattern is refused by the server, said at the field.
  await newCat.locator('[name=code]').evaluate((el) => el.removeAttribute('pattern'));
  await newCat.locator('[name=code]').fill('Bad Code');
  await newCat.locator('[name=title_uk]').fill('Погана');
  await newCat.locator('[name=title_en]').fill('Bad');
  await newCat.locator('button[type=submit]').click();
  await page.locator('#catalogue-result[data-kind=error]').waitFor();
  await snow.getByRole('button', { name: 'Вилучити' }).click();
  await page.locator('#catalogue-result', { hasText: 'roads.snow' }).waitFor();
  assert.equal(await page.locator('#category-list tr[data-category="roads.snow"]').count(), 0, 'a retired category is not listed');
  assert.equal(await page.locator('#new-rule select[name=category] option[value="roads.snow"]').count(), 0, 'nor offered for routing');

  // A day of the working calendar.
  const dayForm = page.locator('#new-day');
  await dayForm.locator('[name=day]').fill('2031-01-07');
  await dayForm.locator('[name=note]').fill('Різдво (тест)');
  await dayForm.locator('button[type=submit]').click();
  await page.locator('#calendar tr[data-day="2031-01-07"]').waitFor();

  // Layers: the list says which are published; hiding one takes it from the
  // public at once (catalogue, collections, tiles), publishing brings it back.
  assert.ok(await page.locator('#layers tr[data-published=true]').count() > 0);
  const layer = 'budget_projects';
  const tile = await aTileOf(layer);
  await publicSees(layer, tile, true);
  const row = () => page.locator(`#layers tr[data-layer=${layer}]`);
  await row().locator('button[data-action=hide]').click();
  await page.locator(`#layers tr[data-layer=${layer}][data-published=false]`).waitFor();
  await page.locator('#layer-result', { hasText: 'приховано' }).waitFor();
  assert.match(await row().textContent(), /user:/, 'who switched it is shown');
  await publicSees(layer, tile, false);
  await row().scrollIntoViewIfNeeded();
  await screenshot(page, 'staff-admin-layers');
  await row().locator('button[data-action=publish]').click();
  await page.locator(`#layers tr[data-layer=${layer}][data-published=true]`).waitFor();
  await publicSees(layer, tile, true);
  // Back to the file's setting: no switch left.
  await row().locator('button[data-action=reset]').click();
  await page.locator(`#layers tr[data-layer=${layer}][data-published=true]`).waitFor();
  await row().locator('button[data-action=reset]').waitFor({ state: 'detached' });
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'staff-admin');
  // The English switch (remembered across the staff pages).
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.locator('h1', { hasText: 'Administration' }).waitFor();
  await page.locator('.staff-main[data-ready=true]').waitFor();
  await page.goto('/office');
  await page.locator('h1', { hasText: 'Appeals office' }).waitFor();
  // The one 422 is the bad category code, provoked on purpose.
  assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), [], `no console errors (answers: ${failed.join('; ')})`);
  assert.equal(errors.length, 1, errors.join('\n'));
});

const base = () => process.env.GEOPORTAL_BASE_URL;

/** A z14 tile holding the first vertex of the layer's first feature (read anonymously). */
async function aTileOf(layer) {
  const r = await fetch(`${base()}/ogc/collections/${layer}/items?limit=1`);
  assert.equal(r.status, 200);
  const doc = await r.json();
  let c = doc.features[0].geometry.coordinates;
  while (Array.isArray(c[0])) [c] = c;
  const [lon, lat] = c;
  const z = 14;
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const rad = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
  return `${z}/${x}/${y}`;
}

/** What an anonymous client gets for the layer: listed, and its tile served (200/204) or 404. */
async function publicSees(layer, tile, visible) {
  const layers = await (await fetch(`${base()}/api/layers`)).json();
  assert.equal(layers.layers.some((l) => l.id === layer), visible, `/api/layers lists ${layer}: ${visible}`);
  const cols = await (await fetch(`${base()}/ogc/collections`)).json();
  assert.equal(cols.collections.some((c) => c.id === layer), visible, `/ogc/collections lists ${layer}: ${visible}`);
  const t = await fetch(`${base()}/tiles/${layer}/${tile}.mvt`);
  await t.arrayBuffer();
  if (visible) assert.ok([200, 204].includes(t.status), `tile ${tile}: ${t.status}`);
  else assert.equal(t.status, 404, `tile ${tile} of a hidden layer`);
}
