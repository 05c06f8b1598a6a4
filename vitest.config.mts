import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/*.spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // e2e suites start real nx processes; two cores are all we have.
    fileParallelism: false,
    // Finds the SLURM the SLURM tests need, starting it where it can (root with apt-get, as CI).
    globalSetup: ['./test/global-setup.ts'],
    setupFiles: ['./test/fixture-cleanup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
