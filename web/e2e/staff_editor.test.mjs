// The department editor (/editor) end to end on a land plot: sign in, the
// map draws our plots, draw a polygon with terra-draw by clicking the map,
// a 422 shown at its field, save (201), edit (200), a conflict made through
// the API (412 explained, reload), the history and a restore, and a
// dry-run import with its per-row report.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openPage, screenshot } from './browser.mjs';
import { apiToken, colours, failures, mapIdle, signIn } from './staff_support.mjs';

const USER = process.env.STAFF_USER;
const PASSWORD = process.env.STAFF_PASSWORD;
const LON = Number(process.env.FREE_LON);
const LAT = Number(process.env.FREE_LAT);
const CADASTRAL = process.env.CADASTRAL;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the editor draws, saves, conflicts, restores and imports a land plot', async () => {
  const { page, errors } = await openPage(browser);
  const failed = failures(page);
  await page.goto('/editor?layer=land_plots');
  await signIn(page, USER, PASSWORD);
  await page.locator('#map[data-ready=true]').waitFor({ timeout: 30000 });
  await mapIdle(page, 'geoportalEditor.map');

  // The map draws our land plots over our own basemap.
  const drawn = await page.evaluate(() => window.geoportalEditor.map.queryRenderedFeatures({ layers: ['features-fill'] }).length);
  assert.ok(drawn > 0, 'land plots are drawn on the map');
  assert.ok(await colours(page, '#map') > 8, 'the map is not blank');
  await screenshot(page, 'staff-editor');
  // Its table view lists what it shows.
  await page.getByRole('button', { name: /таблицею/ }).click();
  assert.ok(await page.locator('.table-view tbody tr').count() > 0);

  // Go to a free spot and draw a polygon: four corners, then the first again
  // (corners farther apart than terra-draw's 40 px closing distance).
  await page.evaluate(([lon, lat]) => window.geoportalEditor.map.jumpTo({ center: [lon, lat], zoom: 18 }), [LON, LAT]);
  await mapIdle(page, 'geoportalEditor.map');
  await page.locator('#new-feature').click();
  const box = await page.locator('#map canvas').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const corners = [[-45, -30], [45, -30], [45, 30], [-45, 30], [-45, -30]];
  for (const [dx, dy] of corners) {
    await page.mouse.move(cx + dx, cy + dy, { steps: 3 });
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForTimeout(250);
  }
  assert.match(await page.locator('#feature-head').textContent(), /Новий/);
  const drawnRing = await page.evaluate(() => window.geoportalEditor.state && window.geoportalEditor.drawing?.geometry());
  assert.equal(drawnRing?.coordinates?.[0]?.[0]?.length, 5, `terra-draw finished a four-cornered polygon: ${JSON.stringify(drawnRing)}`);

  // Attributes, with a bad cadastral number first: the 422 lands at its field.
  const form = page.locator('#feature-form');
  await form.locator('[name=cadastral_number]').fill('not-a-number');
  await form.locator('[name=area_ha]').fill('0.05');
  await form.locator('[name=purpose_code]').fill('02.01');
  await form.locator('[name=ownership]').selectOption('communal');
  await form.locator('[name=use_status]').selectOption('free');
  await form.locator('[name=address]').fill('вул. Тестова, 1');
  let answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/ogc/collections/land_plots/items'));
  await page.locator('#save-feature').click();
  assert.equal((await answer).status(), 422);
  await form.locator('[name=cadastral_number][aria-invalid=true]').waitFor();
  const fieldError = await form.locator('[data-field=cadastral_number] .field-error').textContent();
  assert.ok(fieldError.length > 0, 'the server message is shown at the field');

  await form.locator('[name=cadastral_number]').fill(CADASTRAL);
  answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/ogc/collections/land_plots/items'));
  await page.locator('#save-feature').click();
  const created = await answer;
  assert.equal(created.status(), 201, await created.text());
  const fid = (await created.json()).id;
  await page.locator('#feature-head', { hasText: `№${fid}` }).waitFor();
  await page.locator('#feature-head', { hasText: 'версія 1' }).waitFor();

  // Edit again: version 2.
  await form.locator('[name=address]').fill('вул. Тестова, 2');
  answer = page.waitForResponse((r) => ['PUT', 'PATCH'].includes(r.request().method()));
  await page.locator('#save-feature').click();
  assert.equal((await answer).status(), 200);
  await page.locator('#feature-head', { hasText: 'версія 2' }).waitFor();

  // Someone else changes the plot through the API meanwhile (version 3)…
  const token = await apiToken(USER, PASSWORD);
  const url = `${process.env.GEOPORTAL_BASE_URL}/ogc/collections/land_plots/items/${fid}`;
  const patched = await fetch(url, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': '"v2"' },
    body: JSON.stringify({ properties: { address: 'змінено іншим редактором' } }),
  });
  assert.equal(patched.status, 200, await patched.text());
  // …so the page's save with its old ETag is a 412, explained, with a reload.
  await form.locator('[name=address]').fill('вул. Тестова, 3');
  answer = page.waitForResponse((r) => ['PUT', 'PATCH'].includes(r.request().method()));
  await page.locator('#save-feature').click();
  assert.equal((await answer).status(), 412);
  await page.locator('#conflict', { hasText: 'Конфлікт версій' }).waitFor();
  await page.locator('#reload-feature').click();
  await page.locator('#conflict').waitFor({ state: 'hidden' });
  await page.locator('#feature-head', { hasText: 'версія 3' }).waitFor();
  assert.equal(await form.locator('[name=address]').inputValue(), 'змінено іншим редактором');

  // The history lists the three versions; restoring version 1 makes version 4.
  await page.locator('#history li[data-version="3"]').waitFor();
  assert.equal(await page.locator('#history > ol > li').count(), 3);
  answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/versions/1/restore'));
  await page.locator('#history button[data-version="1"]').click();
  assert.equal((await answer).status(), 200);
  await page.locator('#feature-head', { hasText: 'версія 4' }).waitFor();
  assert.equal(await form.locator('[name=address]').inputValue(), 'вул. Тестова, 1');
  await page.locator('#history li[data-version="4"]').waitFor();
  await screenshot(page, 'staff-editor-history');

  // Import: a dry run of a file with a bad row shows the per-row report.
  const ring = [[LON + 0.01, LAT], [LON + 0.0103, LAT], [LON + 0.0103, LAT + 0.0002], [LON + 0.01, LAT + 0.0002], [LON + 0.01, LAT]];
  const file = {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { cadastral_number: '1810100000:01:978:0001', ownership: 'nobody', use_status: 'free', area_ha: 0.01, purpose_code: '02.01' } },
    ],
  };
  await page.locator('#import input[type=file]').setInputFiles({ name: 'plots.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(file)) });
  answer = page.waitForResponse((r) => r.url().includes('/import?dry_run=true'));
  await page.getByRole('button', { name: /Перевірити/ }).click();
  assert.equal((await answer).status(), 422);
  await page.locator('#import table.rejected tbody tr').first().waitFor();
  assert.match(await page.locator('#import table.rejected').textContent(), /ownership/);
  assert.ok(await page.getByRole('button', { name: 'Імпортувати' }).isDisabled(), 'no import before a clean check');

  // Chromium logs every 4xx answer as a console error: the 422 and 412 above
  // were provoked on purpose; anything else is a failure.
  assert.deepEqual(errors.filter((e) => !/status of (412|422)/.test(e)), [], `no console errors (answers: ${failed.join('; ')})`);
});
