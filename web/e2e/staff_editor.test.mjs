// The department editor (/editor) end to end on a land plot: sign in, the
// map draws our plots, draw a polygon with terra-draw by clicking the map,
// a 422 shown at its field, save (201), edit (200), a conflict made through
// the API (412 explained, reload), the history and a restore, and a
// dry-run import with its per-row report, then the corrected file imported. Then the keyboard way: a plot
// created and reshaped through the geometry text field alone (a bad text
// shown at the field and not saved), and the permalink of the view, layer
// and feature kept in the URL and restored on reload.
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
  // The corrected file: a clean dry run, then the import, with its report.
  file.features[0].properties.ownership = 'communal';
  await page.locator('#import input[type=file]').setInputFiles({ name: 'plots.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(file)) });
  answer = page.waitForResponse((r) => r.url().includes('/import?dry_run=true'));
  await page.getByRole('button', { name: /Перевірити/ }).click();
  assert.equal((await answer).status(), 200);
  await page.locator('#import [data-kind=ok]').waitFor();
  answer = page.waitForResponse((r) => r.url().includes('/import?dry_run=false'));
  await page.getByRole('button', { name: 'Імпортувати' }).click();
  const imported = await answer;
  assert.equal(imported.status(), 200);
  const report = await imported.json();
  assert.equal(report.committed, true);
  assert.equal(report.rows_imported, 1);
  await page.locator('#import [data-kind=ok]', { hasText: 'Імпортовано 1' }).waitFor();

  // Chromium logs every 4xx answer as a console error: the 422 and 412 above
  // were provoked on purpose; anything else is a failure.
  assert.deepEqual(errors.filter((e) => !/status of (412|422)/.test(e)), [], `no console errors (answers: ${failed.join('; ')})`);
});

/** The distinct vertices of a (Multi)Polygon, sorted: ring start and direction do not matter. */
function vertices(geometry) {
  const polys = geometry.type === 'MultiPolygon' ? geometry.coordinates : [geometry.coordinates];
  const keys = new Set(polys.flat(2).map(([x, y]) => `${x.toFixed(8)} ${y.toFixed(8)}`));
  return [...keys].sort();
}

/** Presses a button through the keyboard (focus, Enter), not the mouse. */
async function press(page, selector) {
  await page.locator(selector).focus();
  await page.keyboard.press('Enter');
}

test('the editor takes a geometry typed at the keyboard and keeps its view in the URL', async () => {
  const { page, errors } = await openPage(browser);
  const failed = failures(page);
  const writes = [];
  page.on('request', (r) => { if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method()) && r.url().includes('/ogc/')) writes.push(`${r.method()} ${r.url()}`); });
  // A permalink straight to the free spot: the view comes from the link.
  await page.goto(`/editor?layer=land_plots#map=18/${LAT}/${LON}`);
  await signIn(page, USER, PASSWORD);
  await page.locator('#map[data-ready=true]').waitFor({ timeout: 30000 });
  await mapIdle(page, 'geoportalEditor.map');
  const view = () => page.evaluate(() => {
    const m = window.geoportalEditor.map;
    return { lon: m.getCenter().lng, lat: m.getCenter().lat, zoom: m.getZoom() };
  });
  const opened = await view();
  assert.equal(opened.zoom, 18, 'the zoom of the link');
  assert.ok(Math.abs(opened.lon - LON) < 1e-6 && Math.abs(opened.lat - LAT) < 1e-6, `the centre of the link: ${JSON.stringify(opened)}`);

  // A new plot, north of the one drawn above but inside the free square
  // (that one spans about ±30 px = ±0.00005° of latitude at zoom 18).
  const r7 = (x) => Number(x.toFixed(7));
  const square = (w, s, e, n) => [[w, s], [e, s], [e, n], [w, n], [w, s]].map(([x, y]) => [r7(x), r7(y)]);
  const first = square(LON - 0.00012, LAT + 0.000065, LON + 0.00012, LAT + 0.0000975);
  const wkt = `POLYGON ((${first.map(([x, y]) => `${x} ${y}`).join(', ')}))`;
  await press(page, '#new-feature');
  assert.match(await page.locator('#feature-head').textContent(), /Новий/);
  const field = page.getByLabel(/Геометрія \(GeoJSON або WKT/);
  const error = page.locator('#geometry-text-error');

  // Text that does not parse, and a shape of the wrong type: said at the field.
  await field.fill(`POLYGON ((${LON} ${LAT}, ${LON + 0.0001} ${LAT}`);
  await field.press('Enter');
  await error.waitFor();
  assert.match(await error.textContent(), /WKT/);
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  await field.fill(`POINT (${LON} ${LAT})`);
  await field.press('Enter');
  await page.locator('#geometry-text-error', { hasText: 'MultiPolygon' }).waitFor();

  // The attributes, then a save with a bad text in the field: nothing is sent.
  const form = page.locator('#feature-form');
  const cadastral = CADASTRAL.replace(/\d{4}$/, '0002');
  await form.locator('[name=cadastral_number]').fill(cadastral);
  await form.locator('[name=area_ha]').fill('0.08');
  await form.locator('[name=purpose_code]').fill('02.01');
  await form.locator('[name=ownership]').selectOption('communal');
  await form.locator('[name=use_status]').selectOption('free');
  await form.locator('[name=address]').fill('вул. Клавіатурна, 1');
  await field.fill('{"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51], [30, 50]]');
  await press(page, '#save-feature');
  await page.locator('#geometry-text-error', { hasText: 'JSON' }).waitFor();
  assert.match(await page.locator('p.status').textContent(), /нічого не збережено/);
  await page.waitForTimeout(300);
  assert.deepEqual(writes, [], 'a bad geometry text saves nothing');

  // The good text, applied with Enter: terra-draw holds it on the map.
  await field.fill(wkt);
  await field.press('Enter');
  await error.waitFor({ state: 'hidden' });
  assert.equal(await field.getAttribute('aria-invalid'), null);
  const held = await page.evaluate(() => window.geoportalEditor.drawing.geometry());
  assert.deepEqual(held, { type: 'MultiPolygon', coordinates: [[first]] }, 'the typed polygon is the drawn one');

  let answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/ogc/collections/land_plots/items'));
  await press(page, '#save-feature');
  const created = await answer;
  assert.equal(created.status(), 201, await created.text());
  const fid = (await created.json()).id;
  await page.locator('#feature-head', { hasText: `№${fid}` }).waitFor();
  // The server stored what was typed, and the field shows it back.
  const token = await apiToken(USER, PASSWORD);
  const item = async () => {
    const r = await fetch(`${process.env.GEOPORTAL_BASE_URL}/ogc/collections/land_plots/items/${fid}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    return r.json();
  };
  let stored = await item();
  assert.equal(stored.geometry.type, 'MultiPolygon');
  assert.deepEqual(vertices(stored.geometry), vertices({ type: 'Polygon', coordinates: [first] }));
  assert.match(await field.inputValue(), new RegExp(`^MULTIPOLYGON \\(\\(\\(.*${first[2][0]} ${first[2][1]}`));

  // Reshaped as GeoJSON through the field: a PUT, version 2, stored.
  const second = square(LON - 0.0001, LAT + 0.00007, LON + 0.0001, LAT + 0.000095);
  await field.fill(JSON.stringify({ type: 'Polygon', coordinates: [second] }));
  await field.press('Enter');
  answer = page.waitForResponse((r) => r.request().method() === 'PUT');
  await press(page, '#save-feature');
  assert.equal((await answer).status(), 200);
  await page.locator('#feature-head', { hasText: 'версія 2' }).waitFor();
  stored = await item();
  assert.deepEqual(vertices(stored.geometry), vertices({ type: 'Polygon', coordinates: [second] }));
  await screenshot(page, 'staff-editor-keyboard');

  // The URL follows: layer, feature and view; zooming with the keyboard rewrites it.
  let url = new URL(page.url());
  assert.equal(url.searchParams.get('layer'), 'land_plots');
  assert.equal(url.searchParams.get('feature'), String(fid));
  assert.match(url.hash, /^#map=18\.00\//);
  await page.locator('#map canvas').focus();
  await page.keyboard.press('Equal');
  await page.waitForFunction(() => location.hash.startsWith('#map=19.00/'), null, { timeout: 10000 });
  await mapIdle(page, 'geoportalEditor.map');
  url = new URL(page.url());
  const [, z, lat, lon] = /^#map=([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)/.exec(url.hash).map(Number);

  // Reloading the permalink restores the view, the layer and the open feature.
  await page.reload();
  await page.locator('#map[data-ready=true]').waitFor({ timeout: 30000 });
  await mapIdle(page, 'geoportalEditor.map');
  await page.locator('#feature-head', { hasText: `№${fid}` }).waitFor();
  const back = await view();
  assert.equal(back.zoom, z);
  assert.ok(Math.abs(back.lon - lon) < 1e-7 && Math.abs(back.lat - lat) < 1e-7, `${JSON.stringify(back)} vs ${lon},${lat}`);
  assert.equal(await page.locator('select[name=layer]').inputValue(), 'land_plots');
  assert.match(await page.locator('#feature-head').textContent(), /версія 2/);
  assert.match(await field.inputValue(), new RegExp(`${second[2][0]} ${second[2][1]}`));
  assert.equal(new URL(page.url()).searchParams.get('feature'), String(fid));

  assert.deepEqual(errors, [], `no console errors (answers: ${failed.join('; ')})`);
});
