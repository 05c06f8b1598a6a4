import { defineConfig } from 'vitest/config';

/**
 * Slow files (the fault suite: about 4 min of real SLURM faults) run in CI (CI=true) and with
 * NX_CAMPAIGN_SLOW=1; a plain `npm test` leaves them out and says so at its end.
 */
export const SLOW = ['test/faults.e2e.spec.ts'];
const slow = Boolean(process.env.CI) || process.env.NX_CAMPAIGN_SLOW === '1';

export default defineConfig({
  test: {
    include: ['packages/**/*.spec.ts', 'test/**/*.spec.ts'],
    exclude: ['**/node_modules/**', ...(slow ? [] : SLOW)],
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
