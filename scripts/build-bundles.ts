import { fileURLToPath } from 'node:url';
import { loadProject } from '@taco-run/project/services';
import { build } from 'tsup';
import { serviceBundle } from '../services/bundle.js';

/**
 * Vitest global setup: bundles runsd, the deploy command and every service once, exactly as
 * `pnpm build` does, so the process-level tests run what the container runs; and the dev
 * console's page, which the console serves.
 */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // Silent, without the one line per build `pnpm build` prints: the test run prints only its own output.
  await build({ config: `${root}tools/runsd/tsup.config.ts`, silent: true });
  await build({ config: `${root}deploy/tsup.config.ts`, silent: true });
  await build({ config: `${root}tools/dev-console/tsup.config.ts`, silent: true });
  for (const service of loadProject(root).services) {
    await build(serviceBundle(`${root}${service.dir}`, { silent: true }));
  }
}
