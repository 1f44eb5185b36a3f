import { join } from 'node:path';
import type { Options } from 'tsup';

/**
 * How a service is bundled: one self-contained ESM file, dist/main.js, with
 * every dependency inside, so the container image needs the bundle and Node
 * and nothing else. `pnpm build`, the tests and the Dockerfile all use this.
 */
export function serviceBundle(serviceDir: string): Options {
  return {
    entry: { main: join(serviceDir, 'src/main.ts') },
    outDir: join(serviceDir, 'dist'),
    format: 'esm',
    platform: 'node',
    target: 'node20',
    noExternal: [/.*/],
    sourcemap: true,
    // Fastify and friends are CommonJS and require() Node's builtins; an ESM bundle needs a require to give them.
    banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
    clean: true,
  };
}

/** Every service folder under services/, by name. */
export const services = ['tacoserver', 'tacoclient'] as const;
