/**
 * Vitest's global setup: is there a SLURM for the SLURM tests (test/slurm.e2e.spec.ts,
 * test/allocation.e2e.spec.ts and the SLURM cases of test/record.e2e.spec.ts)?
 *
 * - `sinfo` answers: they run.
 * - It does not, and this process is root with apt-get (as in CI, or a fresh machine):
 *   tools/slurm/start.sh installs and starts the one-node SLURM (as .ci/run does; idempotent), then
 *   they run.
 * - Elsewhere they are skipped (test/workspace.ts: describeSlurm, itSlurm), and the summary
 *   reporter says so in one line with the command that enables them; under CI they fail instead.
 *
 * The answer reaches the tests as `inject('slurm')`. Likewise Debian's chromium for the browser
 * tests (tools/apt-install.sh chromium when root with apt-get): `inject('chromium')`.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

export interface SlurmStatus {
  available: boolean;
  /** Why not, when not: what sinfo said, and why it was not started. */
  why: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    slurm: SlurmStatus;
    chromium: BrowserStatus;
  }
}

export interface BrowserStatus {
  /** The chromium executable, when there is one. */
  path?: string;
  why: string;
}

/** Debian's chromium on PATH, for the browser tests (playwright-core). */
export function probeChromium(): BrowserStatus {
  const r = spawnSync('sh', ['-c', 'command -v chromium']);
  const path = r.status === 0 ? r.stdout.toString().trim() : undefined;
  return path ? { path, why: '' } : { why: 'no chromium on PATH' };
}

const repoRoot = resolve(__dirname, '..');

/** Ends the name of a test skipped for want of SLURM (test/workspace.ts); test/summary-reporter.ts names their files. */
export const NEEDS_SLURM = ' [needs SLURM]';
/** Ends the name of a browser suite skipped for want of chromium. */
export const NEEDS_BROWSER = ' [needs chromium]';

/** Whether `sinfo` answers here. */
export function probeSlurm(): SlurmStatus {
  const r = spawnSync('sinfo', ['--noheader'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { available: false, why: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no sinfo on PATH' : `sinfo: ${r.error.message}` };
  if (r.status !== 0) return { available: false, why: `sinfo failed: ${`${r.stderr}${r.stdout}`.trim().split('\n')[0] || `exit code ${r.status ?? r.signal}`}` };
  return { available: true, why: '' };
}

const onPath = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$0"', cmd]).status === 0;

export default function setup(project: TestProject): void {
  let slurm = probeSlurm();
  if (!slurm.available) {
    const root = process.getuid?.() === 0;
    if (root && onPath('apt-get')) {
      process.stdout.write(`No SLURM here (${slurm.why}): starting the test SLURM with tools/slurm/start.sh (root, apt-get present)\n`);
      const started = spawnSync(join(repoRoot, 'tools/slurm/start.sh'), [], { stdio: ['ignore', 'inherit', 'inherit'] });
      const after = probeSlurm();
      slurm = after.available ? after : { available: false, why: `tools/slurm/start.sh ${started.status === 0 ? 'exited 0' : `failed (${started.error?.message ?? `exit code ${started.status ?? started.signal}`})`}, and then ${after.why}` };
    } else {
      slurm.why += root ? '; not started: no apt-get to install it' : '; not started: not root';
    }
  }
  project.provide('slurm', slurm);
  let chromium = probeChromium();
  if (!chromium.path && process.getuid?.() === 0 && onPath('apt-get')) {
    process.stdout.write('No chromium here: installing Debian\'s with tools/apt-install.sh chromium (root, apt-get present)\n');
    spawnSync(join(repoRoot, 'tools/apt-install.sh'), ['chromium'], { stdio: ['ignore', 'inherit', 'inherit'] });
    chromium = probeChromium();
  }
  project.provide('chromium', chromium);
}
