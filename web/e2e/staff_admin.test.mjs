// Administration (/admin): a new user, an API key shown once (and working),
// who answers a category, a calendar day, the layers' publication.
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

  // A day of the working calendar.
  const dayForm = page.locator('#new-day');
  await dayForm.locator('[name=day]').fill('2031-01-07');
  await dayForm.locator('[name=note]').fill('Різдво (тест)');
  await dayForm.locator('button[type=submit]').click();
  await page.locator('#calendar tr[data-day="2031-01-07"]').waitFor();

  // Layers: the list says which are published.
  assert.ok(await page.locator('#layers tr[data-published=true]').count() > 0);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'staff-admin');
  // The English switch (remembered across the staff pages).
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.locator('h1', { hasText: 'Administration' }).waitFor();
  await page.locator('.staff-main[data-ready=true]').waitFor();
  await page.goto('/office');
  await page.locator('h1', { hasText: 'Appeals office' }).waitFor();
  assert.deepEqual(errors, [], `no console errors (answers: ${failed.join('; ')})`);
});
