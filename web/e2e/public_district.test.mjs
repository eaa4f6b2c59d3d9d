// The deputy's district view (`/districts/{number}`) in Chromium: it loads
// without console errors and draws the district; every number it shows
// equals the analytics API's district summary, the charts carry the same
// counts, and the table view lists what the map draws.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canvasStats, getJson, launch, openPage, screenshot, tableAndMap, waitForMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** "1 234,5" (uk) or "1,234.5" (en) back to a number. */
function parseShown(text, lang) {
  let s = text.replace(/[\s\u00a0\u202f]/g, '');
  s = lang === 'uk' ? s.replace(',', '.') : s.replace(/,/g, '');
  return Number(s);
}

/** The value at a dotted path of the summary row. */
function at(obj, path) {
  return path.split('.').reduce((o, k) => (o === null || o === undefined ? o : o[k]), obj);
}

test('the district view shows the analytics API numbers', async () => {
  const { districts } = await getJson('/api/districts');
  assert.ok(districts.length > 0);
  const district = districts.find((d) => d.deputies.length > 0) ?? districts[0];
  const summary = (await getJson(`/api/analytics/district_summary?district_id=${district.id}`)).rows[0];
  assert.ok(summary.appeals.total > 0, 'the demo district has appeals');
  const { context, page, errors } = await openPage(browser, `/districts/${district.number}`);
  await waitForMap(page);
  await page.locator('.report[aria-busy="false"]').waitFor();
  assert.match(await page.locator('h1').textContent(), new RegExp(`№ ${district.number}`));
  // Deputies of the district.
  const names = await page.locator('.district-head .deputy h3').allTextContents();
  assert.deepEqual(names, district.deputies.map((d) => d.full_name));
  // Every number shown, against the API.
  const shown = await page.$$eval('.summary dd[data-key]', (els) => els.map((e) => [e.dataset.key, e.textContent]));
  assert.ok(shown.length >= 20, `numbers shown: ${shown.length}`);
  for (const [key, text] of shown) {
    const expected = at(summary, key);
    if (expected === null || expected === undefined) {
      assert.equal(text, '—', key);
      continue;
    }
    const digits = /_uah|_ha|eui/.test(key) ? 2 : 1;
    assert.ok(Math.abs(parseShown(text, 'uk') - Number(expected)) < 10 ** -digits, `${key}: shown ${text}, API ${expected}`);
  }
  for (const key of ['appeals.total', 'appeals.overdue', 'property.count', 'land.plots', 'budget.projects']) {
    assert.ok(shown.some(([k]) => k === key), `${key} is shown`);
  }
  // The bars carry the counts by status and by category.
  for (const group of ['by_status', 'by_category']) {
    const bars = await page.$$eval(`[data-key^="appeals.${group}."]`, (els) => els.map((e) => [e.getAttribute('data-key'), e.textContent]));
    const expected = Object.entries(summary.appeals[group]).map(([k, v]) => [`appeals.${group}.${k}`, v]);
    assert.equal(bars.length, expected.length, group);
    for (const [k, v] of expected) {
      const bar = bars.find(([bk]) => bk === k);
      assert.ok(bar, `${k} has a bar`);
      assert.equal(parseShown(bar[1], 'uk'), Number(v), k);
    }
  }
  // The trend chart has a column pair per week of the API's trend.
  const trend = await getJson(`/api/analytics/appeals_trend?district_id=${district.id}`);
  const columns = await page.locator('.chart rect.bar').count();
  const byBars = Object.keys(summary.appeals.by_status).length + Object.keys(summary.appeals.by_category).length;
  assert.equal(columns - byBars, Math.min(trend.rows.length, 26));
  // The overdue list: the public overdue appeals of the features API, and
  // the rest of the summary's overdue count said as not public.
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const filter = `electoral_district_id = ${district.id} AND status IN ('registered','in_progress','extended') AND due_at < TIMESTAMP('${now}')`;
  const overdue = await getJson(`/ogc/collections/appeals/items?limit=100&filter-lang=cql2-text&filter=${encodeURIComponent(filter)}`);
  const listed = await page.$$eval('.overdue li[data-appeal]', (els) => els.map((e) => e.dataset.appeal));
  assert.deepEqual(listed.sort(), overdue.features.map((f) => f.properties.public_number).sort());
  assert.ok(listed.length <= Number(summary.appeals.overdue), 'public overdue appeals are among the overdue');
  const unlisted = await page.$$eval('.overdue [data-unlisted]', (els) => els.map((e) => Number(e.dataset.unlisted)));
  assert.deepEqual(unlisted, Number(summary.appeals.overdue) > listed.length ? [Number(summary.appeals.overdue) - listed.length] : []);
  const stats = await canvasStats(page);
  await screenshot(page, 'public-district');
  assert.ok(stats.colours >= 6 && stats.painted > 0.05, `the map looks blank: ${JSON.stringify(stats)}`);
  const outline = await page.evaluate(() => window.geoportal.map.queryRenderedFeatures({ layers: ['district-outline'] }).length);
  assert.ok(outline > 0, 'the district outline is drawn');
  // The table view lists what the map draws.
  await page.getByRole('button', { name: 'Таблиця' }).click();
  await page.waitForSelector('#table-view table');
  const { table, map } = await tableAndMap(page);
  assert.ok(map.length > 0, 'the map draws features');
  assert.deepEqual(table, map);
  assert.deepEqual(errors, []);
  await context.close();
});

test('/districts lists the districts, an unknown number says so', async () => {
  const { districts } = await getJson('/api/districts');
  const { context, page, errors } = await openPage(browser, '/districts');
  await waitForMap(page);
  assert.equal(await page.locator('.district-list li').count(), districts.length);
  await page.goto('/districts/9999');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  assert.match(await page.locator('[role=alert]').first().textContent(), /9999/);
  assert.deepEqual(errors, []);
  await context.close();
});
