// Every MapLibre style under styles/ must validate against the style
// specification; the validator itself is checked to reject a broken style,
// so this test cannot pass vacuously.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { validateStyleMin as validate } from '@maplibre/maplibre-gl-style-spec';

const STYLES = resolve(import.meta.dirname, '../../styles');

const files = readdirSync(STYLES).filter((f) => f.endsWith('.json'));

test('styles/ holds the basemap and the public overlay', () => {
  assert.ok(files.includes('basemap.json'), 'styles/basemap.json is missing');
  assert.ok(files.includes('public.json'), 'styles/public.json is missing');
});

for (const file of files) {
  test(`styles/${file} is a valid MapLibre style`, () => {
    const style = JSON.parse(readFileSync(resolve(STYLES, file), 'utf8'));
    const errors = validate(style);
    assert.deepEqual(errors.map((e) => e.message), [], `styles/${file}`);
    assert.ok(style.layers.length > 0, 'a style without layers');
    // Our sources are our own tiles: relative /tiles/ URLs, made absolute at load time.
    for (const [id, src] of Object.entries(style.sources)) {
      if (src.type === 'vector') assert.match(src.url ?? '', /^\/tiles\/[a-z_,]+$/, `source ${id}`);
    }
    // Each drawn layer names the registry layer it shows (legend, switcher, table).
    for (const layer of style.layers) {
      if (layer.type === 'background') continue;
      assert.equal(layer.metadata?.['geoportal:layer'], layer.source, `layer ${layer.id}`);
    }
  });
}

test('the validator rejects an invalid style', () => {
  const style = JSON.parse(readFileSync(resolve(STYLES, 'basemap.json'), 'utf8'));
  const broken = structuredClone(style);
  broken.layers.push({ id: 'bad', type: 'circle', source: 'nowhere', paint: { 'circle-radius': 'big' } });
  const errors = validate(broken);
  assert.ok(errors.length >= 2, `expected errors for an unknown source and a bad paint value, got ${JSON.stringify(errors)}`);
  const noVersion = structuredClone(style);
  delete noVersion.version;
  assert.ok(validate(noVersion).length > 0, 'a style without version must fail');
});
