import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, describeSlurm, notCancelled, readFile, removeWorkspace, repoRoot, runStages, slurmWorkspace, startNx, writeFile } from './workspace';

/**
 * Against the real single-node SLURM that tools/slurm/start.sh starts (.ci/run does).
 * Every run here names the site `testslurm` (backend slurm) in the workspace's sites.yaml.
 */
const POLL = '--pollInterval=1';
const submitted = (out: string) => [...out.matchAll(/^\[(\S+)\] submitted as job (\d+)/gm)].map((m) => m[1]).sort();

const PIPELINE = `stages:
  a:
    executable: sh
    script-args: ["-c", "echo made a; echo A > out/a.txt"]
    depends: null
    outputs: [out/a.txt]
    resources: {ranks: 1, threads: 2, memory: 100M, runtime: 5m}
  b:
    executable: sh
    script-args: ["-c", "echo partial > $0; echo b is failing >&2; exit 3", out/b.txt]
    inputs: [out/a.txt]
    outputs: [out/b.txt]
    resources: {memory: 100M, runtime: 1m}
  c:
    executable: sh
    script-args: ["-c", "cat out/b.txt > out/c.txt"]
    inputs: [out/b.txt]
    outputs: [out/c.txt]
    resources: {memory: 100M, runtime: 1m}
  e:
    executable: sh
    script-args: ["-c", "cat out/a.txt > out/e.txt; printf '%s\\\\n' \\"$0\\" > out/arg.txt", "$(touch pwned); \`touch pwned2\`; echo 'q\\"uote' ; rm -rf /"]
    depends: [a]
    outputs: [out/e.txt]
    resources: {ranks: 2, threads: 1, memory: 200M, runtime: 90m}
  h:
    executable: sh
    script-args: ["-c", "printf '%s\\\\n' \\"$HOSTILE\\" > out/env.txt"]
    depends: null
    environment: {HOSTILE: "$(touch pwned3) \`touch pwned4\`"}
    outputs: [out/env.txt, "out/$(touch pwned5)\`touch pwned6\`.json"]
    resources: {memory: 100M, runtime: 1m}
`;

/** id and state of every job SLURM lists for `run` of this workspace (its script is in the workspace; other copies may run at once). */
function jobsOfWorkspace(ws: string, run: string): string[][] {
  return execFileSync('squeue', ['--noheader', '--states=all', '--format=%i|%T|%k|%o'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split('|'))
    .filter(([, , comment, command]) => /^nx-campaign:[0-9a-f]{8}:/.test(comment) && comment.includes(`:${run}/`) && command?.startsWith(`${ws}/`))
    .map(([id, state]) => [id, state]);
}

function squeueIds(): string[] {
  return execFileSync('squeue', ['--noheader', '--format=%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describeSlurm('SLURM backend (real SLURM)', () => {
  let ws: string;

  beforeAll(() => {
    ws = slurmWorkspace();
    writeFile(ws, 'runs/photoz-sim.yaml', `site: testslurm\n${readFileSync(join(repoRoot, 'runs/photoz-sim.yaml'), 'utf8')}`);
    writeFile(ws, 'pipelines/mixed/pipeline.yaml', PIPELINE);
    writeFile(ws, 'runs/mixed.yaml', 'pipelines: mixed\nsite: testslurm\n');
  });
  afterAll(() => removeWorkspace(ws));

  it('runs a whole run as chained jobs: outputs, logs, exit files', () => {
    const r = runStages(ws, 'photoz-sim', [POLL]);
    expect(r.status, r.out).toBe(0);
    expect(submitted(r.out)).toEqual(['estimate_target', 'estimate_test', 'evaluate', 'split_catalog', 'train_photoz']);
    expect(r.out).toMatch(/\[train_photoz\] submitted as job \d+ after \d+/);
    const metrics = JSON.parse(readFile(ws, 'results/photoz-sim/outputs/metrics.json'));
    expect(metrics.sigma_nmad).toBeGreaterThan(0);
    expect(readFile(ws, 'results/photoz-sim/logs/evaluate.log')).toMatch(/# stage evaluate of run photoz-sim, job \d+/);
    expect(readFile(ws, 'results/photoz-sim/logs/evaluate.exit')).toMatch(/^0 \d+ \d+ \d+ \d+ 0 \d+\.\d\d\n$/); // code, start, end, peak memory (0 without a cgroup), job, restarts, seconds
  });

  it('submits nothing on a cached re-run', () => {
    const r = runStages(ws, 'photoz-sim', [POLL]);
    expect(r.status, r.out).toBe(0);
    expect(submitted(r.out)).toEqual([]);
  });

  it('writes sbatch headers that match the plan', () => {
    // As planned at submission: before the record had measured runtimes to plan with.
    const plan = JSON.parse(campaign(ws, ['plan', 'runs/photoz-sim.yaml', '--json'], { NX_CAMPAIGN_RECORD: join(ws, 'no-record.sqlite') }).stdout);
    for (const s of plan.stages) {
      const script = readFile(ws, `results/photoz-sim/logs/${s.name}.sbatch`);
      const h = (opt: string) => new RegExp(`^#SBATCH --${opt}=(.*)$`, 'm').exec(script)?.[1];
      expect(h('job-name')).toBe(`photoz-sim.${s.name}`);
      expect(Number(h('nodes'))).toBe(s.nodes.length);
      expect(h('mem')).toBe(`${s.memoryMBPerNode}M`);
      const [d, hms] = h('time')!.split('-');
      const [hh, mm, ss] = hms.split(':').map(Number);
      expect(Number(d) * 86400 + hh * 3600 + mm * 60 + ss).toBe(s.walltimeSeconds);
      expect(h('partition')).toBe('debug');
      expect(h('output')).toBe(join(ws, `results/photoz-sim/logs/${s.name}.log`));
    }
  });

  describe('a failing stage', () => {
    let r: ReturnType<typeof runStages>;
    beforeAll(() => {
      r = runStages(ws, 'mixed', [POLL]);
    });

    it('fails the run, prunes its descendants, lets the independent branch finish', () => {
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/mixed\/b: exited with code 3 \(job \d+/);
      expect(r.out).toContain('b is failing');
      expect(r.out).toMatch(/mixed\/c: skipped: upstream stage b failed \(job \d+ cancelled\)/);
      expect(readFile(ws, 'results/mixed/outputs/out/e.txt')).toBe('A\n');
      expect(existsSync(join(ws, 'results/mixed/outputs/out/c.txt'))).toBe(false);
      // b wrote its output itself, then failed: it is left only under its in-progress name
      expect(existsSync(join(ws, 'results/mixed/outputs/out/b.txt'))).toBe(false);
    });

    it('sizes multi-core and MPI stages from their resources', () => {
      const a = readFile(ws, 'results/mixed/logs/a.sbatch');
      expect(a).toMatch(/^#SBATCH --cpus-per-task=2$/m);
      const e = readFile(ws, 'results/mixed/logs/e.sbatch');
      expect(e).toMatch(/^#SBATCH --ntasks=2$/m);
      expect(e).toMatch(/^#SBATCH --time=0-02:15:00$/m);
      expect(e).toMatch(/^srun --ntasks=2 --cpus-per-task=1 sh /m);
    });

    it('keeps hostile config values inert: arguments, environment values, output paths in the job script and its messages', () => {
      expect(execFileSync('find', [ws, '-name', 'pwned*'], { encoding: 'utf8' })).toBe('');
      expect(readFile(ws, 'results/mixed/outputs/out/env.txt')).toBe('$(touch pwned3) `touch pwned4`\n');
      // h did not write its hostile output: the job script's message names it as written.
      expect(r.out).toContain('did not write');
      expect(r.out).toContain('out/$(touch pwned5)`touch pwned6`.json');
      // srun ran it twice (2 ranks); each wrote the argument back unchanged
      expect(readFile(ws, 'results/mixed/outputs/out/arg.txt')).toBe(`$(touch pwned); \`touch pwned2\`; echo 'q"uote' ; rm -rf /\n`);
    });
  });

  it('cancels what it submitted when nx is interrupted', async () => {
    writeFile(ws, 'pipelines/slow/pipeline.yaml', `stages:
  first:
    executable: sleep
    script-args: ["300"]
    depends: null
    resources: {memory: 100M, runtime: 10m}
  second:
    executable: "true"
    depends: [first]
    resources: {memory: 100M, runtime: 1m}
`);
    writeFile(ws, 'runs/slow.yaml', 'pipelines: slow\nsite: testslurm\n');
    const before = new Set(squeueIds());
    const nx = startNx(ws, 'slow', [POLL]);
    const deadline = Date.now() + 60_000;
    while (submitted(nx.out()).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const ids = [...nx.out().matchAll(/submitted as job (\d+)/g)].map((m) => m[1]);
    expect(ids.length, nx.out()).toBe(2);
    expect(squeueIds().filter((id) => !before.has(id)).sort()).toEqual([...ids].sort());
    expect(await nx.interrupt()).not.toBe(0);
    expect(await notCancelled(ids), nx.out()).toEqual([]);
    // Nx exits on SIGINT without printing its tasks' last words: SLURM says what happened.
    for (const id of ids) expect(execFileSync('scontrol', ['show', 'job', id], { encoding: 'utf8' })).toMatch(/JobState=CANCELLED/);
    expect(JSON.parse(readFile(ws, '.nx/workspace-data/nx-campaign/slow/slurm-jobs.json')).jobs).toEqual({ first: ids[0], second: ids[1] });
  }, 90_000);

  it('cancels every job, and knows every id, when interrupted in the middle of submitting', async () => {
    const fan = 200;
    const lines = ['stages:', '  root:', '    executable: sleep', '    script-args: ["300"]', '    depends: null', '    resources: {memory: 10M, runtime: 10m}'];
    for (let i = 0; i < fan; i++) lines.push(`  leaf${i}:`, '    executable: "true"', '    depends: [root]', '    resources: {memory: 10M, runtime: 1m}');
    writeFile(ws, 'pipelines/burst/pipeline.yaml', `${lines.join('\n')}\n`);
    writeFile(ws, 'runs/burst.yaml', 'pipelines: burst\nsite: testslurm\n');
    const nx = startNx(ws, 'burst', [POLL]);
    const deadline = Date.now() + 60_000;
    while (submitted(nx.out()).length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const seen = submitted(nx.out()).length;
    expect(await nx.interrupt()).not.toBe(0);
    const recorded = Object.values(JSON.parse(readFile(ws, '.nx/workspace-data/nx-campaign/burst/slurm-jobs.json')).jobs as Record<string, string>);
    // Interrupted part-way: some submitted, not all; the sbatch started as the last line seen was printed is among them.
    expect(seen).toBeGreaterThanOrEqual(20);
    expect(recorded.length, nx.out()).toBeGreaterThan(seen);
    expect(recorded.length, nx.out()).toBeLessThan(fan + 1);
    // Every job SLURM has for this run is one the ids file names, and none is left to run.
    const ofRun = jobsOfWorkspace(ws, 'burst');
    expect(ofRun.map(([id]) => id).sort()).toEqual([...recorded].sort());
    expect(await notCancelled(ofRun.map(([id]) => id)), nx.out()).toEqual([]);
  }, 120_000);

  it('learns and cancels the job of an sbatch still running when nx stops its worker', async () => {
    // Nx stops the batch worker by signalling its child processes first: a stand-in sbatch that
    // holds the id it got from the real one for 1 s is such a child, and SLURM has its job already.
    const realSbatch = execFileSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).trim();
    writeFile(ws, 'slow-sbatch/sbatch', `#!/usr/bin/env python3
import subprocess, sys, time
r = subprocess.run([${JSON.stringify(realSbatch)}, *sys.argv[1:]], capture_output=True, text=True)
time.sleep(1)
sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); sys.exit(r.returncode)
`);
    chmodSync(join(ws, 'slow-sbatch/sbatch'), 0o755);
    const lines = ['stages:', '  root:', '    executable: sleep', '    script-args: ["300"]', '    depends: null', '    resources: {memory: 10M, runtime: 10m}'];
    for (let i = 0; i < 5; i++) lines.push(`  leaf${i}:`, '    executable: "true"', '    depends: [root]', '    resources: {memory: 10M, runtime: 1m}');
    writeFile(ws, 'pipelines/slowsub/pipeline.yaml', `${lines.join('\n')}\n`);
    writeFile(ws, 'runs/slowsub.yaml', 'pipelines: slowsub\nsite: testslurm\n');
    const nx = startNx(ws, 'slowsub', [POLL], { PATH: `${join(ws, 'slow-sbatch')}:${process.env.PATH}` });
    const deadline = Date.now() + 60_000;
    while (submitted(nx.out()).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // The worker started the next sbatch as it printed the last line seen: that one is in flight.
    const seen = submitted(nx.out()).length;
    expect(await nx.interrupt()).not.toBe(0);
    const recorded = Object.values(JSON.parse(readFile(ws, '.nx/workspace-data/nx-campaign/slowsub/slurm-jobs.json')).jobs as string[]);
    expect(recorded.length, nx.out()).toBe(seen + 1);
    const ofRun = jobsOfWorkspace(ws, 'slowsub').map(([id]) => id);
    expect(ofRun.sort(), nx.out()).toEqual([...recorded].sort());
    expect(await notCancelled(ofRun), nx.out()).toEqual([]);
  }, 120_000);

  it('runs a socm TOML campaign as SLURM jobs, the stand-ins found on the exported PATH', () => {
    const toml = readFileSync(join(repoRoot, 'runs/so-nulltests.toml'), 'utf8').replace('resource = "local"', 'resource = "testslurm"').replaceAll('results/so-nulltests', 'results/so-slurm');
    writeFile(ws, 'runs/so-slurm.toml', toml);
    const r = runStages(ws, 'so-slurm', [POLL], { PATH: `${join(repoRoot, 'pipelines/so/bin')}:${process.env.PATH}` });
    expect(r.status, r.out).toBe(0);
    expect(submitted(r.out)).toHaveLength(25);
    expect(readFile(ws, 'results/so-slurm/maps/null/mission_split_1/sky_map.fits')).toContain('NOBS    = 80');
    expect(readFile(ws, 'results/so-slurm/outputs/../logs/ml-mapmaking.sbatch')).toMatch(/^#SBATCH --cpus-per-task=2$/m);
  }, 180_000);
});
