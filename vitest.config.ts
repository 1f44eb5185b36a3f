import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      '{packages,tools,services}/*/test/**/*.test.ts',
      'fixtures/*/packages/*/test/**/*.test.ts',
      'deploy/test/**/*.test.ts',
    ],
    // A service's tests of its image, which need a container engine: pnpm test:image runs them.
    exclude: [...configDefaults.exclude, '**/*.container.test.ts'],
    // The end-to-end tests start the real bundles; build them once, before any test.
    globalSetup: ['scripts/build-bundles.ts'],
    // Tests start real servers on loopback; a hung socket should fail one test, not the run.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
