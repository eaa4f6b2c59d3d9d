// The investor map (`/invest`) in Chromium: English first, no console
// errors, the map draws our features; the filters give what the analytics
// API gives; the table view lists what the map draws; the site card and the
// printable passport.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canvasStats, getJson, launch, openPage, renderedKeys, screenshot, tableAndMap, waitForMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the investor map loads in English with the sites the search API finds', async () => {
  const all = await getJson('/api/analytics/investment_search?limit=500');
  assert.ok(all.rows.length > 0, 'the demo city has available investment sites');
  const { context, page, errors } = await openPage(browser, '/invest');
  await waitForMap(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  // On an English page the basemap's names come from name_en where there is one.
  const labelField = await page.evaluate(() => window.geoportal.map.getLayoutProperty('streets-label', 'text-field'));
  assert.ok(JSON.stringify(labelField).includes('name_en'), `English labels: ${JSON.stringify(labelField)}`);
  await page.locator('.results h2').waitFor();
  const listed = await page.$$eval('.site-list li', (els) => els.map((e) => e.dataset.site));
  assert.deepEqual(listed, all.rows.map((r) => String(r.id)));
  // Filters: a site type and a utility, compared with the API.
  const filtered = await getJson('/api/analytics/investment_search?limit=500&site_type=greenfield&water=true');
  await page.getByLabel('Site type').selectOption('greenfield');
  await page.getByLabel('water').check();
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await page.waitForFunction((n) => document.querySelector('.results h2')?.textContent.endsWith(`: ${n}`), filtered.rows.length);
  const after = await page.$$eval('.site-list li', (els) => els.map((e) => e.dataset.site));
  assert.deepEqual(after, filtered.rows.map((r) => String(r.id)));
  // Free plots follow the area filter too.
  await page.getByLabel('Area from, ha').fill('2');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  const bigSites = await getJson('/api/analytics/investment_search?limit=500&site_type=greenfield&water=true&min_area_ha=2');
  await page.waitForFunction((n) => document.querySelector('.results h2')?.textContent.endsWith(`: ${n}`), bigSites.rows.length);
  await page.evaluate(() => window.geoportal.map.jumpTo({ zoom: 14 }));
  await waitForMap(page);
  const plotAreas = await page.evaluate(() => window.geoportal.map.queryRenderedFeatures({ layers: ['land_plots-fill'] })
    .map((f) => [f.properties.area_ha, f.properties.use_status]));
  assert.ok(plotAreas.length > 0, 'free plots are drawn');
  for (const [ha, status] of plotAreas) {
    assert.ok(ha >= 2 && ['free', 'offered_for_building'].includes(status), `plot ${ha} ha ${status}`);
  }
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.site-list li').length === n, all.rows.length);
  // Distances: the median site's distances to a main road and to rail.
  const median = (k) => all.rows.map((r) => Number(r[k])).filter(Number.isFinite).sort((a, b) => a - b)[Math.floor(all.rows.length / 2)];
  const road = Math.ceil(median('road_m'));
  const rail = Math.ceil(median('rail_m')) + 500;
  const near = await getJson(`/api/analytics/investment_search?limit=500&max_road_m=${road}&max_rail_m=${rail}`);
  assert.ok(near.rows.length > 0 && near.rows.length < all.rows.length, `the distance filters select some sites: ${near.rows.length}`);
  await page.getByLabel('Main road within, m').fill(String(road));
  await page.getByLabel('Railway within, m').fill(String(rail));
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await page.waitForFunction((n) => document.querySelector('.results h2')?.textContent.endsWith(`: ${n}`), near.rows.length);
  const nearListed = await page.$$eval('.site-list li', (els) => els.map((e) => e.dataset.site));
  assert.deepEqual(nearListed, near.rows.map((r) => String(r.id)));
  for (const r of near.rows) assert.ok(Number(r.road_m) <= road && Number(r.rail_m) <= rail, JSON.stringify(r));
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.site-list li').length === n, all.rows.length);
  // Vacant premises by floor area: only vacant ones at least that large are drawn.
  const vacant = (await getJson('/ogc/collections/communal_property/items?use_status=vacant&limit=500')).features
    .filter((f) => f.geometry && Number.isFinite(Number(f.properties.area_m2)));
  assert.ok(vacant.length > 1, 'the demo city has vacant premises');
  const areas = vacant.map((f) => Number(f.properties.area_m2)).sort((a, b) => a - b);
  const minM2 = areas[Math.floor(areas.length / 2)];
  const small = vacant.find((f) => Number(f.properties.area_m2) < minM2);
  assert.ok(small, `a vacant premises smaller than ${minM2} m²`);
  const drawnPremises = () => page.evaluate(() => window.geoportal.map.queryRenderedFeatures()
    .filter((f) => f.layer.metadata?.['geoportal:layer'] === 'communal_property')
    .map((f) => ({ id: f.id, area: f.properties.area_m2, status: f.properties.use_status })));
  const [sx, sy] = small.geometry.type === 'Point' ? small.geometry.coordinates : small.geometry.coordinates.flat(3).slice(0, 2);
  await page.evaluate(([x, y]) => window.geoportal.map.jumpTo({ center: [x, y], zoom: 17 }), [sx, sy]);
  await waitForMap(page);
  assert.ok((await drawnPremises()).some((p) => p.id === small.id), 'before the filter the small premises is drawn');
  await page.getByLabel('Vacant premises: area from, m²').fill(String(minM2));
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.site-list li').length === n, all.rows.length);
  // MapLibre re-evaluates the loaded tiles after the filter change: wait for it.
  await page.waitForFunction((id) => !window.geoportal.map.queryRenderedFeatures()
    .some((f) => f.layer.metadata?.['geoportal:layer'] === 'communal_property' && f.id === id), small.id, { timeout: 15000 });
  await waitForMap(page);
  const premises = await drawnPremises();
  for (const p of premises) assert.ok(p.status === 'vacant' && Number(p.area) >= minM2, JSON.stringify(p));
  await page.evaluate(() => window.geoportal.map.jumpTo({ zoom: 14 }));
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.site-list li').length === n, all.rows.length);
  await waitForMap(page);
  const stats = await canvasStats(page);
  await screenshot(page, 'public-invest');
  assert.ok(stats.colours >= 6 && stats.painted > 0.05, `the map looks blank: ${JSON.stringify(stats)}`);
  // The site card of the first result, and the map goes to it.
  const first = all.rows[0];
  await page.locator(`.site-list li[data-site="${first.id}"] button`).click();
  const card = page.locator(`.site-card[data-site="${first.id}"]`);
  await card.waitFor();
  assert.match(await card.textContent(), new RegExp(first.title_en ?? first.title_uk));
  await waitForMap(page);
  const drawn = await renderedKeys(page, ['investment_sites']);
  assert.ok(drawn.includes(`investment_sites/${first.id}`), `the site is drawn: ${drawn}`);
  // The table view lists what the map draws.
  await page.getByRole('button', { name: 'Table', exact: true }).click();
  await page.waitForSelector('#table-view table');
  const { table, map } = await tableAndMap(page);
  assert.ok(map.length > 0, 'the map draws features');
  assert.deepEqual(table, map);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the site passport prints the site with its map', async () => {
  const site = (await getJson('/api/analytics/investment_search?limit=1')).rows[0];
  const { context, page, errors } = await openPage(browser, `/invest?passport=${site.id}`);
  await waitForMap(page);
  const passport = page.locator(`.passport[data-site="${site.id}"]`);
  await passport.waitFor();
  assert.match(await passport.textContent(), new RegExp(site.cadastral_number ?? site.title_en));
  assert.ok(await page.getByRole('button', { name: 'Print the passport' }).isVisible());
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.getByRole('button', { name: 'Print the passport' }).isVisible(), false, 'no controls in print');
  assert.ok(await passport.isVisible());
  const stats = await canvasStats(page);
  await screenshot(page, 'public-invest-passport');
  assert.ok(stats.colours >= 4 && stats.painted > 0.02, `the map looks blank: ${JSON.stringify(stats)}`);
  assert.deepEqual(errors, []);
  await context.close();
});
