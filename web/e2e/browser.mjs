// Shared by the browser tests: Debian's Chromium driven by playwright-core
// (no downloaded browsers), console errors collected, screenshots saved
// under tests/screenshots/ (gitignored).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = process.env.GEOPORTAL_BASE_URL ?? 'http://127.0.0.1:8080';
const SCREENSHOTS = resolve(import.meta.dirname, '../../tests/screenshots');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // WebGL without a GPU, for MapLibre.
      '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    ],
  });
}

/** A new page whose console errors and uncaught exceptions land in `errors`. */
export async function openPage(browser, path, { viewport = { width: 1280, height: 800 }, locale = 'uk-UA' } = {}) {
  const context = await browser.newContext({ viewport, locale, baseURL: BASE_URL });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  if (path) await page.goto(path);
  return { context, page, errors };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = resolve(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
