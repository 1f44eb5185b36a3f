import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/page: the console's page, one small script for the browser (no
 * framework; the DOM and EventSource are all it needs) beside its HTML and
 * CSS. The console's server is part of the tools that start it (the dev
 * runner, the emulator); nothing of this reaches a service's bundle.
 */
export default defineConfig({
  entry: { app: here('./page/app.ts') },
  outDir: here('./dist/page'),
  publicDir: here('./page/public'),
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  clean: true,
  silent: true,
  outExtension: () => ({ js: '.js' }),
});
