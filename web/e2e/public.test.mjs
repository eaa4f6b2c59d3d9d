// The resident map (`/`) in Chromium: it loads without console errors and
// draws our features; the table view lists what the map draws; permalinks,
// the language switch, search, "find my deputy", and filing an appeal end
// to end (click the map, nearby duplicates first, the form, the answer with
// its number and tracking link, then the tracking page).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { BASE_URL, canvasStats, getJson, launch, openPage, screenshot, tableAndMap, waitForMap } from './browser.mjs';

// A 1×1 PNG: the filing goes as multipart with a photo.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Clicks the map canvas at a lon/lat. */
async function clickLngLat(page, lon, lat) {
  const pt = await page.evaluate(([x, y]) => {
    const p = window.geoportal.map.project([x, y]);
    const r = window.geoportal.map.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, [lon, lat]);
  await page.mouse.click(pt.x, pt.y);
}

/** An open, public appeal of the demo city (the duplicate a new filing is offered). */
async function openPublicAppeal() {
  const res = await getJson("/ogc/collections/appeals/items?limit=50&filter=status%20IN%20('registered','in_progress','extended')&filter-lang=cql2-text");
  assert.ok(res.features.length > 0, 'the demo city has open public appeals');
  return res.features[0];
}

test('the resident map loads, draws our layers and has no console errors', async () => {
  const { context, page, errors } = await openPage(browser, '/');
  await waitForMap(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'uk');
  const stats = await canvasStats(page);
  await screenshot(page, 'public-index');
  assert.ok(stats.colours >= 6, `the map looks blank: ${JSON.stringify(stats)}`);
  assert.ok(stats.painted > 0.05, `the map looks blank: ${JSON.stringify(stats)}`);
  const drawn = await page.evaluate(() => window.geoportal.map.queryRenderedFeatures().map((f) => f.layer.metadata?.['geoportal:layer']));
  assert.ok(drawn.includes('city_boundary'), 'the basemap draws the city boundary');
  assert.ok(drawn.includes('electoral_districts') || drawn.includes('appeals'), `overlay layers drawn: ${[...new Set(drawn)]}`);
  // Labels: the glyphs come from our server (/fonts) and names are placed.
  const labels = await page.evaluate(() => window.geoportal.map
    .queryRenderedFeatures({ layers: ['water-label', 'streets-label'] })
    .map((f) => f.properties.name));
  assert.ok(labels.some((n) => /[а-яіїєґ]/i.test(n ?? '')), `Ukrainian names drawn: ${labels.slice(0, 5)}`);
  // Every public thematic layer is in the switcher, with a legend.
  const catalogue = await getJson('/api/layers');
  const thematic = catalogue.layers.filter((l) => l.group === 'thematic' && l.geometry_type !== 'None').map((l) => l.id);
  const switched = await page.$$eval('input[data-layer]', (els) => els.map((e) => e.dataset.layer));
  assert.deepEqual([...switched].sort(), [...thematic].sort());
  assert.ok(await page.locator('.legend li').count() >= thematic.length);
  // The style the page composed (basemap + overlay, sources inlined from TileJSON) is valid too.
  const composed = await page.evaluate(() => window.geoportal.map.getStyle());
  assert.deepEqual(validateStyleMin(composed).map((e) => e.message), []);
  for (const src of Object.values(composed.sources)) {
    if (src.type === 'vector') for (const url of src.tiles) assert.ok(url.startsWith(`${BASE_URL}/tiles/`), url);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('a permalink restores the view and layers, and the table view lists what the map draws', async () => {
  const appeal = await openPublicAppeal();
  const [lon, lat] = appeal.geometry.coordinates;
  const { context, page, errors } = await openPage(browser, `/#zoom=16&lat=${lat}&lon=${lon}&layers=appeals,communal_property,budget_projects`);
  await waitForMap(page);
  const view = await page.evaluate(() => ({ zoom: window.geoportal.map.getZoom(), c: window.geoportal.map.getCenter() }));
  assert.ok(Math.abs(view.zoom - 16) < 0.01 && Math.abs(view.c.lat - lat) < 1e-4 && Math.abs(view.c.lng - lon) < 1e-4, JSON.stringify(view));
  const checked = await page.$$eval('input[data-layer]:checked', (els) => els.map((e) => e.dataset.layer).sort());
  assert.deepEqual(checked, ['appeals', 'budget_projects', 'communal_property']);
  await page.getByRole('button', { name: 'Таблиця' }).click();
  await page.waitForSelector('#table-view tbody tr');
  const first = await tableAndMap(page);
  assert.ok(first.map.includes(`appeals/${appeal.id}`), `the appeal ${appeal.id} is drawn: ${first.map}`);
  assert.deepEqual(first.table, first.map);
  // Moving the map changes the table with it.
  await page.evaluate(() => new Promise((resolve) => {
    const map = window.geoportal.map;
    map.once('idle', resolve);
    map.jumpTo({ zoom: 17.5 });
  }));
  const moved = await tableAndMap(page);
  assert.deepEqual(moved.table, moved.map);
  assert.notDeepEqual(moved.map, first.map, 'zooming in changes what is drawn');
  // The hash follows the map.
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /zoom=17\.50/);
  assert.match(hash, /layers=[a-z_,]*appeals/);
  await screenshot(page, 'public-index-table');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the language switch goes to English and is remembered', async () => {
  const { context, page, errors } = await openPage(browser, '/');
  await waitForMap(page);
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.waitForLoadState('load');
  await waitForMap(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.ok(await page.getByRole('button', { name: 'File an appeal' }).isVisible());
  await page.goto('/districts');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.deepEqual(errors, []);
  await context.close();
});

test('search finds an address, a cadastral number and an appeal number', async () => {
  const address = (await getJson('/ogc/collections/addresses/items?limit=1&offset=7')).features[0];
  const plots = await getJson('/ogc/collections/land_plots/items?limit=1');
  const cadastral = plots.features[0].properties.cadastral_number;
  const appeal = await openPublicAppeal();
  const { context, page, errors } = await openPage(browser, '/');
  await waitForMap(page);
  const box = page.getByRole('searchbox');
  await box.fill(address.properties.full_address);
  await box.press('Enter');
  const found = page.locator(`.search-results button[data-layer="addresses"][data-id="${address.id}"]`);
  await found.waitFor();
  await found.click();
  // The map goes to the address.
  await page.waitForFunction(([x, y]) => {
    const c = window.geoportal.map.getCenter();
    return Math.abs(c.lng - x) < 1e-3 && Math.abs(c.lat - y) < 1e-3 && window.geoportal.map.getZoom() > 14;
  }, address.geometry.coordinates);
  await box.fill(cadastral);
  await box.press('Enter');
  const hit = page.locator(`.search-results button[data-layer="land_plots"][data-id="${plots.features[0].id}"]`);
  await hit.waitFor();
  await hit.click();
  await page.waitForFunction(() => window.geoportal.map.getZoom() > 14);
  await box.fill(appeal.properties.public_number);
  await box.press('Enter');
  await page.locator(`.search-results button[data-layer="appeals"][data-id="${appeal.id}"]`).click();
  // The appeal opens with its public attributes (never its author's).
  const popup = page.locator('.maplibregl-popup .popup-body', { hasText: appeal.properties.public_number });
  await popup.waitFor();
  assert.equal(await page.locator('.maplibregl-popup').count(), 1, 'one popup at a time');
  assert.doesNotMatch(await popup.textContent(), /Автор|Телефон автора/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('find my deputy by the browser\'s location', async () => {
  const addr = (await getJson('/ogc/collections/addresses/items?limit=1&offset=3')).features[0];
  const [lon, lat] = addr.geometry.coordinates;
  const expected = await getJson(`/api/districts/lookup?lon=${lon}&lat=${lat}`);
  const { context, page, errors } = await openPage(browser, '/', { geolocation: { longitude: lon, latitude: lat } });
  await waitForMap(page);
  await page.getByRole('button', { name: 'Мій депутат' }).click();
  await page.getByRole('button', { name: 'Визначити моє місце' }).click();
  const result = page.locator('.deputy-result');
  await result.waitFor();
  assert.equal(await result.getAttribute('data-district'), String(expected.district.number));
  assert.deepEqual(await result.locator('.deputy h3').allTextContents(), expected.deputies.map((d) => d.full_name));
  assert.deepEqual(errors, []);
  await context.close();
});

test('find my deputy: a click on the map shows the district and its deputies', async () => {
  const addr = (await getJson('/ogc/collections/addresses/items?limit=1')).features[0];
  const [lon, lat] = addr.geometry.coordinates;
  const expected = await getJson(`/api/districts/lookup?lon=${lon}&lat=${lat}`);
  const { context, page, errors } = await openPage(browser, `/#zoom=15&lat=${lat}&lon=${lon}`);
  await waitForMap(page);
  await page.getByRole('button', { name: 'Мій депутат' }).click();
  // From the keyboard: the map centre (the permalink put the address there).
  await page.getByRole('button', { name: 'Обрати центр мапи' }).press('Enter');
  await page.locator(`.deputy-result[data-district="${expected.district.number}"]`).waitFor();
  await page.evaluate(() => document.getElementById('panel').replaceChildren());
  // With the mouse: a click on the map.
  await clickLngLat(page, lon, lat);
  const result = page.locator('.deputy-result');
  await result.waitFor();
  assert.equal(await result.getAttribute('data-district'), String(expected.district.number));
  const names = await result.locator('.deputy h3').allTextContents();
  assert.deepEqual(names, expected.deputies.map((d) => d.full_name));
  if (expected.deputies.some((d) => d.reception_hours)) {
    assert.match(await result.textContent(), new RegExp(expected.deputies.find((d) => d.reception_hours).reception_hours.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('filing an appeal end to end: duplicates nearby first, then the number and the tracking link', async () => {
  const dup = await openPublicAppeal();
  const [lon, lat] = dup.geometry.coordinates;
  const { context, page, errors } = await openPage(browser, `/#zoom=16&lat=${lat}&lon=${lon}`);
  await waitForMap(page);
  await page.getByRole('button', { name: 'Подати звернення' }).click();
  await clickLngLat(page, lon + 0.0004, lat + 0.0002);
  const form = page.locator('form.appeal-form');
  await form.waitFor();
  // A second click moves the place of the same form.
  const firstHint = await form.locator('.hint').first().textContent();
  await clickLngLat(page, lon, lat);
  await page.waitForFunction((before) => document.querySelector('form.appeal-form .hint').textContent !== before, firstHint);
  const hint = await form.locator('.hint').first().textContent();
  const [hLat, hLon] = hint.match(/-?\d+\.\d+/g).map(Number);
  assert.ok(Math.abs(hLat - lat) < 5e-5 && Math.abs(hLon - lon) < 5e-5, `${hint} vs ${lat}, ${lon}`);
  assert.equal(await page.locator('form.appeal-form').count(), 1);
  await form.getByLabel('Категорія').selectOption(dup.properties.category);
  // The open public appeal of that category right here is offered first.
  await page.locator(`.nearby li[data-appeal="${dup.properties.public_number}"]`).waitFor();
  assert.equal(await form.getByLabel('Опис проблеми').isVisible(), false);
  await page.getByRole('button', { name: 'Моє звернення про інше — продовжити' }).click();
  await form.getByLabel('Опис проблеми').fill('Тестове звернення з мапи: яма на дорозі біля будинку.');
  await form.getByLabel('Ваше ім’я та прізвище').fill('Тест Тестович');
  await form.getByLabel('Даю згоду на обробку персональних даних для розгляду звернення').check();
  // A problem document of the API is shown in the form, every problem listed.
  await form.getByLabel('Телефон').fill('не номер');
  await form.getByRole('button', { name: 'Надіслати звернення' }).click();
  await form.locator('.form-error', { hasText: 'contact.phone' }).waitFor();
  assert.equal(await page.locator('.appeal-filed').count(), 0);
  await form.getByLabel('Телефон').fill('');
  await form.getByLabel('Ел. пошта').fill('resident@example.org');
  await form.getByLabel('Фото (до 5, JPEG/PNG/WebP)').setInputFiles({ name: 'pothole.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await form.getByLabel('Даю згоду на обробку персональних даних для розгляду звернення').check();
  await form.getByRole('button', { name: 'Надіслати звернення' }).click();
  const filed = page.locator('.appeal-filed');
  await filed.waitFor();
  const number = (await filed.locator('.public-number').textContent()).trim();
  assert.match(number, /^ZH-\d{4}-\d{6}$/);
  const link = await filed.locator('a.tracking-link').getAttribute('href');
  assert.match(link, /\/\?track=[^&]+$/);
  await screenshot(page, 'public-appeal-filed');
  // The tracking link opens the appeal.
  await page.goto(link);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  const track = page.locator('.track');
  await track.waitFor();
  assert.equal((await track.locator('.public-number').textContent()).trim(), number);
  assert.equal(await track.locator('.status').getAttribute('data-status'), 'submitted');
  await waitForMap(page);
  await screenshot(page, 'public-appeal-tracking');
  // The only console error is the browser's note of the refused first try.
  assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), []);
  assert.equal(errors.length, 1, errors.join('\n'));
  await context.close();
});

test('on a phone the map comes first and the panel follows', async () => {
  const { context, page, errors } = await openPage(browser, '/', { viewport: { width: 390, height: 844 } });
  await waitForMap(page);
  const boxes = await page.evaluate(() => {
    const r = (sel) => document.querySelector(sel).getBoundingClientRect().toJSON();
    return { map: r('#map'), sidebar: r('#sidebar') };
  });
  assert.ok(boxes.map.height > 300 && boxes.map.width >= 380, JSON.stringify(boxes));
  assert.ok(boxes.sidebar.top >= boxes.map.bottom - 1, JSON.stringify(boxes));
  const stats = await canvasStats(page);
  await screenshot(page, 'public-index-phone');
  assert.ok(stats.colours >= 6, JSON.stringify(stats));
  assert.deepEqual(errors, []);
  await context.close();
});
