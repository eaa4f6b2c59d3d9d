// The appeals office (/office): queues, deadlines highlighted, the card
// with or without the author's contact depending on the role, and status
// moves by an operator and by the assigned executor.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openPage, screenshot } from './browser.mjs';
import { colours, failures, mapIdle, signIn } from './staff_support.mjs';

const PASSWORD = process.env.STAFF_PASSWORD;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function office(user) {
  const { context, page, errors } = await openPage(browser);
  const failed = failures(page);
  await page.goto('/office');
  await signIn(page, user, PASSWORD);
  await page.locator('#map[data-ready=true]').waitFor({ timeout: 30000 });
  await mapIdle(page, 'geoportalOffice.map');
  return { context, page, errors, failed };
}

test('an operator registers a new appeal from the queue', async () => {
  const { context, page, errors, failed } = await office(process.env.OPERATOR_USER);
  // The operator starts on the new appeals; they are on the map and in the list.
  const rows = page.locator('#queue-list tbody tr');
  assert.ok(await rows.count() > 0, 'the queue lists new appeals');
  const points = await page.evaluate(() => window.geoportalOffice.map.queryRenderedFeatures({ layers: ['appeals'] }).length);
  assert.ok(points > 0, 'the queue is drawn on the map');
  assert.ok(await colours(page, '#map') > 8, 'the map is not blank');
  await screenshot(page, 'staff-office');

  await rows.first().locator('th button').click();
  await page.locator('#appeal-head').waitFor();
  await page.locator('#contact').waitFor();
  const form = page.locator('#transition-form');
  await form.locator('[name=to]').selectOption('registered');
  await form.locator('[name=comment]').fill('Зареєстровано в тесті');
  const answer = page.waitForResponse((r) => r.url().includes('/transitions'));
  await form.locator('button[type=submit]').click();
  assert.equal((await answer).status(), 200);
  await page.locator('#move-result', { hasText: 'зареєстровано' }).waitFor();
  await page.locator('#moves li', { hasText: 'Зареєстровано в тесті' }).waitFor();

  // Overdue appeals are highlighted.
  await page.locator('select[name=queue]').selectOption('overdue');
  await page.locator('#queue-list tbody tr.overdue').first().waitFor();
  assert.ok(await page.locator('#queue-list .badge.overdue').count() > 0);
  assert.ok(await page.locator('#overdue-summary tbody tr').count() > 0, 'the per-executor deadlines are listed');
  assert.deepEqual(errors, [], `no console errors (answers: ${failed.join('; ')})`);
  await context.close();
});

test('the assigned executor answers; a deputy sees no contact details', async () => {
  const ex = await office(process.env.EXECUTOR_USER);
  const row = ex.page.locator('#queue-list tbody tr[data-status=in_progress]').first();
  await row.waitFor();
  await row.locator('th button').click();
  await ex.page.locator('#appeal-head').waitFor();
  assert.equal(await ex.page.locator('#contact').count(), 1,
    `the assigned executor sees the contact: ${await ex.page.locator('#appeal').innerText()} ${ex.errors} ${ex.failed}`);
  const form = ex.page.locator('#transition-form');
  await form.locator('[name=to]').selectOption('answered');
  await form.locator('[name=comment]').fill('Яму засипано');
  const answer = ex.page.waitForResponse((r) => r.url().includes('/transitions'));
  await form.locator('button[type=submit]').click();
  assert.equal((await answer).status(), 200);
  await ex.page.locator('#move-result', { hasText: 'надано відповідь' }).waitFor();
  assert.deepEqual(ex.errors, [], `no console errors (answers: ${ex.failed.join('; ')})`);
  await ex.context.close();

  const dep = await office(process.env.DEPUTY_USER);
  await dep.page.locator('#queue-list tbody tr').first().locator('th button').click();
  await dep.page.locator('#no-contact').waitFor();
  assert.equal(await dep.page.locator('#contact').count(), 0);
  assert.equal(await dep.page.locator('#transition-form').count(), 0, 'a deputy has no moves');
  assert.deepEqual(dep.errors, [], `no console errors (answers: ${dep.failed.join('; ')})`);
  await dep.context.close();
});
