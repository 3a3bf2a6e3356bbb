import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The console builds to <repo>/dist/console (CONSOLE_DIR), which the API serves at /admin. Relative asset URLs
 * (`base: './'`) keep it working under any prefix; file names carry a content hash, so the API can cache them
 * for a year and revalidate index.html only.
 */
export default defineConfig({
  root: here,
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(here, '../../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
