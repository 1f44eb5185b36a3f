import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  entry: { cli: here('./src/cli.ts') },
  outDir: here('./dist'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // typescript stays a runtime import (it is big and already installed); the runtime's code table
  // and the command-line convention are bundled.
  external: ['typescript'],
  noExternal: ['@taco-run/rpc', '@taco-run/project'],
  clean: true,
});
