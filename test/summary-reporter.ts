import { relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { NEEDS_BROWSER, NEEDS_SLURM } from './global-setup';

/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that any CI can read; before
 * it, when tests were skipped for want of SLURM, one loud line naming their files and the command
 * that enables them.
 */
export default class SummaryReporter implements Reporter {
  private vitest?: Vitest;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const noSlurm = new Map<string, { skipped: number; of: number }>();
    const noBrowser = new Set<string>();
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') counts.passed++;
        else if (s === 'failed') counts.failed++;
        else counts.skipped++;
        if (s === 'skipped' && t.fullName.includes(NEEDS_BROWSER)) noBrowser.add(relative(this.vitest?.config.root ?? process.cwd(), m.moduleId));
        if (s === 'skipped' && t.fullName.includes(NEEDS_SLURM)) {
          const file = relative(this.vitest?.config.root ?? process.cwd(), m.moduleId);
          const entry = noSlurm.get(file) ?? { skipped: 0, of: [...m.children.allTests()].length };
          entry.skipped++;
          noSlurm.set(file, entry);
        }
      }
    }
    if (noSlurm.size) {
      const why = this.vitest?.getProvidedContext().slurm?.why ?? 'no SLURM';
      const files = [...noSlurm].sort(([a], [b]) => a.localeCompare(b)).map(([file, n]) => (n.skipped === n.of ? file : `${file} (${n.skipped} of ${n.of} tests)`)).join(', ');
      process.stdout.write(`\n*** SLURM TESTS SKIPPED (${why}): ${files}. Run them: sudo tools/slurm/start.sh, then npm test ***\n`);
    }
    if (noBrowser.size) process.stdout.write(`\n*** BROWSER TESTS SKIPPED (${this.vitest?.getProvidedContext().chromium?.why ?? 'no chromium'}): ${[...noBrowser].sort().join(', ')}. Run them: sudo tools/apt-install.sh chromium, then npm test ***\n`);
    const left = (this.vitest?.config.exclude ?? []).filter((e) => e.startsWith('test/'));
    if (left.length) process.stdout.write(`\n*** SLOW TESTS LEFT OUT: ${left.join(', ')}. Run them: NX_CAMPAIGN_SLOW=1 npm test (CI runs them) ***\n`);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
