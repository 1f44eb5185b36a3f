import { defineConfig } from 'vitest/config';

// pnpm test:image: the project's images built and run in containers (deploy/image-test/setup.ts).
export default defineConfig({
  test: {
    include: ['deploy/image-test/**/*.test.ts', 'services/*/test/**/*.container.test.ts'],
    globalSetup: ['deploy/image-test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
