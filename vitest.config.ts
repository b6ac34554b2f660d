import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Starts the Temporal dev server and MinIO once for the whole run; Postgres is already up.
    globalSetup: ['test/global-setup.ts'],
    // The Temporal worker's native bridge is safest in child processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
