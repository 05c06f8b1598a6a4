import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRun, campaign, copyWorkspace, nx, nxEnv, pythonStage, removeWorkspace, repoRoot, runStages, startNx, stripAnsi } from './workspace';

const SLOW = [
  pythonStage('first', "import time; time.sleep(3); open('a.txt', 'w').write('a')", { outputs: ['a.txt'] }),
  pythonStage('second', "import sys; print('no data', file=sys.stderr); sys.exit(5)", { depends: ['first'], inputs: ['a.txt'], outputs: ['b.txt'] }),
];

/** `campaign watch` in the terminal view, and the workspace project's targets. */
describe('campaign watch', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
    addRun(ws, 'slow', SLOW);
  });
  afterAll(() => removeWorkspace(ws));

  it('follows a run until it ends, appending the overview when it changes (not a terminal), then exits', async () => {
    const run = startNx(ws, 'slow');
    // The run is in the record once nx has started it.
    for (let i = 0; i < 100 && campaign(ws, ['status']).out.indexOf('slow') < 0; i++) await new Promise((r) => setTimeout(r, 200));
    const w = spawn(join(repoRoot, 'node_modules', '.bin', 'campaign'), ['watch', 'slow', '--interval', '0.5'], { cwd: ws, env: nxEnv });
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    w.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => w.on('exit', resolve));
    expect(await run.exited).not.toBe(0);
    expect(code, out).toBe(0);
    const blocks = stripAnsi(out).split(/^--- \d{4}-\d\d-\d\dT.*$/m).filter((b) => b.trim());
    expect(blocks.length, out).toBeGreaterThan(1);
    expect(blocks[0]).toMatch(/run slow \(version 1, site local, backend local\): running/);
    expect(blocks.at(-1)).toMatch(/TOTAL +1 succeeded, 1 failed of 2/);
    expect(blocks.at(-1)).toMatch(/latest failures:\n {2}second: exit code 5 {2}log: \S+second\.log/);
    expect(out).not.toMatch(/\x1b\[2J/);
  }, 90_000);

  it('refuses an unknown run, and a run of another site, in one line each', () => {
    expect(campaign(ws, ['watch', 'nope']).out).toMatch(/^run nope is not in the record\n {2}fix: campaign status --all/);
    expect(campaign(ws, ['watch', 'slow', '--site', 'perlmutter']).out).toMatch(/^run slow ran on site local, not perlmutter\n$/);
  });

  it('is also the workspace project\'s targets: nx run campaign:status, campaign:watch', () => {
    expect(runStages(ws, 'photoz-sim').status).toBe(0);
    const s = nx(ws, ['run', 'campaign:status']);
    expect(s.status, s.out).toBe(0);
    expect(s.out).toMatch(/photoz-sim +│ 1 +│ local/);
    const w = nx(ws, ['run', 'campaign:watch', '--run=photoz-sim']);
    expect(w.status, w.out).toBe(0);
    expect(w.out).toMatch(/TOTAL +5 succeeded of 5/);
  });
});
