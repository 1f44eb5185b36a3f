import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  entry: { cli: here('./src/cli.ts') },
  outDir: here('./dist'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // typescript and esbuild (which compiles renderers of your own) stay runtime imports: they are big, esbuild
  // runs a native binary, and both are installed already. The runtime's code table and the command-line
  // convention are bundled.
  external: ['typescript', 'esbuild'],
  noExternal: ['@taco-run/rpc', '@taco-run/project'],
  clean: true,
});
