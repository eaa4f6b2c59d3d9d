// One multi-page build: every page of the portal is an HTML entry here and
// gets its clean path from the server (src/server/pages.rs).
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const pages = ['index', 'district', 'invest', 'editor', 'office', 'admin'];

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // MapLibre alone is ~1 MB; the warning is noise for a map application.
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: Object.fromEntries(pages.map((p) => [p, resolve(import.meta.dirname, `${p}.html`)])),
    },
  },
  server: {
    // `npm run dev` talks to a running `geoportal serve`.
    proxy: Object.fromEntries(
      ['/api', '/tiles', '/ogc', '/open311', '/opendata', '/styles', '/health'].map((p) => [p, 'http://127.0.0.1:8080']),
    ),
  },
});
