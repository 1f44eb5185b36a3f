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
  // runs a native binary, and both are installed already. So do PGlite, which loads its WebAssembly from beside
  // its own module, and node-postgres, which the row types' generator drives it with. The runtime's code table,
  // the command-line convention and the migrator are bundled.
  external: ['typescript', 'esbuild', '@electric-sql/pglite', '@electric-sql/pglite-socket', 'pg'],
  noExternal: ['@taco-run/rpc', '@taco-run/project', '@taco-run/database'],
  clean: true,
});
