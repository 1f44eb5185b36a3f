import { defineConfig } from 'vitest/config';

// pnpm test:reliability: slower, bounded suites that drive real processes on loopback.
export default defineConfig({
  test: {
    include: ['reliability/test/**/*.test.ts'],
    globalSetup: ['scripts/build-bundles.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One suite at a time: they measure memory and load, which neighbours would disturb.
    fileParallelism: false,
  },
});
