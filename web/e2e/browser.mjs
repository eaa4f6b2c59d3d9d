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

/**
 * A new page whose console errors, uncaught exceptions and requests to any
 * origin but ours (the portal must work with no internet: no CDN, no
 * external tiles unless configured — `allowOrigins`) land in `errors`.
 */
export async function openPage(browser, path, { viewport = { width: 1280, height: 800 }, locale = 'uk-UA', allowOrigins = [], geolocation = null } = {}) {
  const context = await browser.newContext({
    viewport, locale, baseURL: BASE_URL,
    ...(geolocation ? { geolocation, permissions: ['geolocation'] } : {}),
  });
  const page = await context.newPage();
  const errors = [];
  const ours = new URL(BASE_URL).origin;
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.origin !== ours && !allowOrigins.includes(url.origin)) {
      errors.push(`request to another origin: ${req.url()}`);
    }
  });
  if (path) await page.goto(path);
  return { context, page, errors };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = resolve(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Waits until the page says it is ready and its map (window.geoportal.map) has drawn every tile. */
export async function waitForMap(page, { timeout = 60000 } = {}) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout });
  await page.waitForFunction(() => {
    const map = window.geoportal?.map;
    return map && map.loaded() && map.areTilesLoaded() && !map.isMoving();
  }, null, { timeout, polling: 200 });
}

/**
 * What the map canvas shows: the number of distinct colours (quantised)
 * and the share of pixels that differ from the most common colour. A blank
 * or background-only map has one or two colours and a share near 0. With
 * `near: [r, g, b]`, also `nearShare`: the share of pixels within 25 of that
 * colour in every channel.
 */
export async function canvasStats(page, { near = null } = {}) {
  return page.evaluate((target) => {
    const src = window.geoportal.map.getCanvas();
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    let nearCount = 0;
    for (let i = 0; i < data.length; i += 16) {
      const key = ((data[i] >> 3) << 10) | ((data[i + 1] >> 3) << 5) | (data[i + 2] >> 3);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (target && [0, 1, 2].every((k) => Math.abs(data[i + k] - target[k]) <= 25)) nearCount += 1;
    }
    const total = data.length / 16;
    const top = Math.max(...counts.values());
    return { colours: counts.size, painted: (total - top) / total, nearShare: target ? nearCount / total : null };
  }, near);
}

/**
 * The overlay features the map draws now, as "layer/id" keys (as the
 * table view lists them), straight from MapLibre.
 */
export async function renderedKeys(page, layers = null) {
  return page.evaluate((only) => {
    const map = window.geoportal.map;
    const ids = new Set(map.geoportal.overlayIds.filter((id) => !only || only.includes(id)));
    const styleLayers = map.getStyle().layers
      .filter((l) => ids.has(l.metadata?.['geoportal:layer']) && l.layout?.visibility !== 'none')
      .map((l) => l.id);
    if (!styleLayers.length) return [];
    const keys = new Set();
    for (const f of map.queryRenderedFeatures({ layers: styleLayers })) {
      keys.add(`${f.layer.metadata['geoportal:layer']}/${f.id ?? ''}`);
    }
    return [...keys].sort();
  }, layers);
}

/** The rows of the table view as "layer/id" keys. */
export async function tableKeys(page) {
  return page.evaluate(() => [...document.querySelectorAll('#table-view tbody tr')]
    .map((tr) => `${tr.dataset.layer}/${tr.dataset.id}`)).then((keys) => [...new Set(keys)].sort());
}

/** A JSON GET against the server under test. */
export async function getJson(path) {
  const res = await fetch(new URL(path, BASE_URL), { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * The table view refreshes when the map goes idle; waits (up to `timeout`)
 * until its rows are the features MapLibre draws, then returns both lists
 * for the caller's assertion.
 */
export async function tableAndMap(page, { layers = null, timeout = 15000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await waitForMap(page, { timeout });
    const table = await tableKeys(page);
    const map = await renderedKeys(page, layers);
    if (JSON.stringify(table) === JSON.stringify(map) || Date.now() > deadline) return { table, map };
    await page.waitForTimeout(250);
  }
}
