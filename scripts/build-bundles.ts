import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '@taco-run/project/services';
import { fixtureProject } from '@taco-run/project/testing';
import { build } from 'tsup';
import { serviceBundle } from '../services/bundle.js';

/**
 * Vitest global setup: bundles runsd, the deploy command, the migration job and every service once, exactly as
 * `pnpm build` does, so the process-level tests run what the container runs: the project's own
 * services, for their tests, and the fixture project's, for the framework's. And the dev
 * console's page, which the console serves.
 */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // Silent, without the one line per build `pnpm build` prints: the test run prints only its own output.
  await build({ config: `${root}tools/runsd/tsup.config.ts`, silent: true });
  await build({ config: `${root}deploy/tsup.config.ts`, silent: true });
  await build({ config: `${root}packages/database/tsup.config.ts`, silent: true });
  await build({ config: `${root}tools/dev-console/tsup.config.ts`, silent: true });
  for (const project of [root, fixtureProject]) {
    for (const service of loadProject(project).services) {
      await build(serviceBundle(join(project, service.dir), { silent: true }));
    }
  }
}
