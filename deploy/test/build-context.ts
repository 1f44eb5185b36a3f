// The paths the image build's context must keep and drop, for both checks of .dockerignore: its
// rules read here (dockerignore.test.ts), and the real builder's (pnpm test:image's context.test.ts).

/**
 * Names a pattern could match, had it no depth: every one is a valid service name but the last
 * three, which the manifest check refuses, and must still not be matched.
 */
export const serviceNames = [
  'tacoserver',
  'src',
  'packages',
  'deploy',
  'tools',
  'git',
  'log',
  'test',
  'dist',
  'coverage',
];

/** Every source of a service named so, however its src is laid out: the build needs them all. */
export function keptPaths(name: string): string[] {
  return [
    `services/${name}/package.json`,
    `services/${name}/src/main.ts`,
    `services/${name}/src/test/helpers.ts`,
    `services/${name}/src/dist/table.ts`,
  ];
}

/** What the build makes again or never needs: installed packages, bundles, tests, local data, the git folder. */
export const droppedPaths = [
  'node_modules/fastify/package.json',
  'services/tacoserver/node_modules/x',
  'services/tacoserver/dist/main.js',
  'services/tacoserver/test/e2e.test.ts',
  'services/tacoserver/.database/pglite/PG_VERSION',
  'tools/runsd/dist/runsd.js',
  'packages/rpc/test/client.test.ts',
  '.git/HEAD',
];

/** Files of the project's own that the build reads. */
export const projectPaths = ['pnpm-lock.yaml', 'package.json', 'deploy/assemble-image.mjs', 'tools/runsd/src/cli.ts'];
