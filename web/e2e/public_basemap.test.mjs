// An external raster basemap (GEOPORTAL_BASEMAP_URL as a {z}/{x}/{y}
// template): the resident map draws its tiles under our overlay, the CSP
// lets that one origin in, and nothing else outside our server is asked.
// The "external" tile server is started here, on the port the server under
// test was configured with (GEOPORTAL_TEST_BASEMAP_PORT), and serves one
// magenta PNG for every tile.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { canvasStats, launch, openPage, renderedKeys, screenshot, waitForMap } from './browser.mjs';

const PORT = Number(process.env.GEOPORTAL_TEST_BASEMAP_PORT);
const ORIGIN = `http://127.0.0.1:${PORT}`;

let browser;
let tileServer;
const asked = [];

before(async () => {
  browser = await launch();
  // A 256×256 magenta PNG, drawn by the browser itself (no image library).
  const maker = await browser.newPage({ viewport: { width: 256, height: 256 } });
  await maker.setContent('<body style="margin:0;background:#ff00ff"></body>');
  const png = await maker.screenshot({ type: 'png' });
  await maker.close();
  tileServer = createServer((req, res) => {
    asked.push(req.url);
    if (!/^\/\d+\/\d+\/\d+\.png$/.test(req.url)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'image/png', 'Access-Control-Allow-Origin': '*' }).end(png);
  });
  await new Promise((resolve) => tileServer.listen(PORT, '127.0.0.1', resolve));
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => tileServer?.close(resolve));
});

test('a raster tile template as the basemap is drawn under our layers', async () => {
  assert.ok(PORT > 0, 'GEOPORTAL_TEST_BASEMAP_PORT is set');
  const { context, page, errors } = await openPage(browser, '/', { allowOrigins: [ORIGIN] });
  await waitForMap(page);
  await screenshot(page, 'public-index-raster-basemap');
  assert.ok(asked.some((u) => /^\/\d+\/\d+\/\d+\.png$/.test(u)), `tiles asked of the external server: ${asked.slice(0, 5)}`);
  const style = await page.evaluate(() => window.geoportal.map.getStyle());
  assert.equal(style.sources.basemap?.type, 'raster');
  assert.deepEqual(style.sources.basemap.tiles, [`${ORIGIN}/{z}/{x}/{y}.png`]);
  // Magenta pixels: the raster is drawn (where no overlay covers it), and
  // our overlay over it.
  const stats = await canvasStats(page, { near: [255, 0, 255] });
  assert.ok(stats.nearShare > 0.05, `the raster basemap is drawn: ${JSON.stringify(stats)}`);
  assert.ok(stats.colours >= 4, `our overlay is drawn over it: ${JSON.stringify(stats)}`);
  assert.ok((await renderedKeys(page)).length > 0, 'overlay features are drawn');
  assert.deepEqual(errors, []);
  await context.close();
});
