import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { campaign, describeSlurm, executedStages, HUNGRY_STAGE, nxEnv, readFile, removeWorkspace, repoRoot, runStages, slurmWorkspace, stripAnsi, writeFile } from './workspace';

/**
 * In-allocation mode against the real SLURM of tools/slurm/start.sh: nx runs under salloc and
 * each stage is an srun step of that allocation.
 */

/** Each stage writes where and how SLURM ran it, and when. */
const probe = (name: string) => `sh -c 'echo "$SLURM_JOB_ID $SLURM_STEP_ID $SLURMD_NODENAME $SLURM_CPUS_PER_TASK $OMP_NUM_THREADS $(date +%s.%N)"; sleep 1; date +%s.%N' > out/${name}.txt`;
const stage = (name: string, threads: number, depends = 'null') => `  ${name}:
    executable: sh
    script-args: ["-c", ${JSON.stringify(probe(name))}]
    depends: ${depends}
    outputs: [out/${name}.txt]
    resources: {threads: ${threads}, memory: 200M, runtime: 1m}
`;
const PIPELINE = `stages:\n${stage('wide1', 4)}${stage('wide2', 4)}${stage('narrow1', 2)}${stage('narrow2', 2)}${stage('narrow3', 2)}${stage('after', 1, '[wide1, narrow1]')}`;

/** `nx run-many` of run alloc on the allocation backend, under a 6-core, 3000M salloc. */
function inAllocation(ws: string, extra: string[]) {
  const nxBin = join(repoRoot, 'node_modules', '.bin', 'nx');
  const r = spawnSync('salloc', ['--cpus-per-task=6', '--mem=3000M', '--time=5', nxBin, 'run-many', '-t', 'stage', '--projects=tag:run:alloc', '--outputStyle=static', '--backend=allocation', ...extra], { cwd: ws, encoding: 'utf8', env: nxEnv });
  return { r, out: stripAnsi(r.stdout + r.stderr) };
}

interface Probe { job: string; step: string; node: string; cpus: number; omp: number; start: number; end: number }
function probed(ws: string, name: string): Probe {
  const [first, end] = readFile(ws, `results/alloc/outputs/out/${name}.txt`).trim().split('\n');
  const [job, step, node, cpus, omp, start] = first.split(' ');
  return { job, step, node, cpus: Number(cpus), omp: Number(omp), start: Number(start), end: Number(end) };
}

describeSlurm('allocation backend (real SLURM)', () => {
  let ws: string;

  beforeAll(() => {
    ws = slurmWorkspace();
    writeFile(ws, 'pipelines/alloc/pipeline.yaml', PIPELINE);
    writeFile(ws, 'runs/alloc.yaml', 'pipelines: alloc\nsite: testslurm\n');
    writeFile(ws, 'runs/photoz-sim.yaml', `site: testslurm\n${readFileSync(join(repoRoot, 'runs/photoz-sim.yaml'), 'utf8')}`);
  });
  afterAll(() => removeWorkspace(ws));

  it('refuses outside an allocation, naming the way in', () => {
    const noSlurm = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('SLURM_')).map((k) => [k, undefined]));
    const r = runStages(ws, 'alloc', ['--backend=allocation', '--skipNxCache'], noSlurm);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('the allocation backend runs inside a SLURM allocation, and SLURM_JOB_ID is not set');
  });

  it('runs stages as srun steps of the allocation, within its cores, sized and placed by the plan', () => {
    const { r, out } = inAllocation(ws, []);
    expect(r.status, out).toBe(0);
    const job = /Granted job allocation (\d+)/.exec(out)![1];
    expect(out).toContain(`allocation ${job}: vm (6 cores)`);
    const names = ['wide1', 'wide2', 'narrow1', 'narrow2', 'narrow3', 'after'];
    const p = Object.fromEntries(names.map((n) => [n, probed(ws, n)]));
    for (const n of names) {
      expect(p[n].job, n).toBe(job);
      expect(p[n].step, n).toMatch(/^\d+$/); // set only inside an srun step
      expect(p[n].node).toBe('vm');
    }
    expect(new Set(names.map((n) => p[n].step)).size).toBe(names.length);
    expect([p.wide1.cpus, p.narrow1.cpus, p.after.cpus]).toEqual([4, 2, 1]);
    expect(p.wide1.omp).toBe(4);
    // 6 cores: the two 4-core stages never overlap, and no instant has more than 6 cores busy.
    const overlap = (a: Probe, b: Probe) => a.start < b.end && b.start < a.end;
    expect(overlap(p.wide1, p.wide2)).toBe(false);
    for (const n of names) {
      const busy = names.filter((m) => p[m].start <= p[n].start && p[m].end > p[n].start).reduce((s, m) => s + p[m].cpus, 0);
      expect(busy, n).toBeLessThanOrEqual(6);
    }
    expect(p.after.start).toBeGreaterThanOrEqual(Math.max(p.wide1.end, p.narrow1.end));
    // Recorded like every backend's attempts: as steps of this allocation, on the planned host.
    const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
    const rows = db.prepare("SELECT a.stage, a.backend, a.nodes, a.cores, a.state FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = 'alloc' ORDER BY a.stage").all();
    db.close();
    expect(rows).toEqual(names.sort().map((n) => ({ stage: n, backend: 'allocation', nodes: 'vm', cores: p[n].cpus, state: 'succeeded' })));
    expect(readFile(ws, 'results/alloc/logs/wide1.log')).toMatch(/^# command: srun --job-name=alloc\.wide1 --nodes=1 --nodelist=vm --ntasks=1 --cpus-per-task=4 --mem=200M --exact --kill-on-bad-exit=1 -- sh -c /m);
  }, 120_000);

  it('retries a step that ran out of memory with more, as the SLURM backend does (srun --mem, cgroup)', () => {
    writeFile(ws, 'pipelines/hungry/pipeline.yaml', `stages:\n${HUNGRY_STAGE}`);
    writeFile(ws, 'runs/hungry.yaml', 'pipelines: hungry\nsite: testslurm\nretries: {count: 1, memory_multiplier: 4}\n');
    const nxBin = join(repoRoot, 'node_modules', '.bin', 'nx');
    const r = spawnSync('salloc', ['--cpus-per-task=2', '--mem=1000M', '--time=5', nxBin, 'run-many', '-t', 'stage', '--projects=tag:run:hungry', '--outputStyle=static', '--backend=allocation'], { cwd: ws, encoding: 'utf8', env: nxEnv });
    const out = stripAnsi(r.stdout + r.stderr);
    expect(r.status, out).toBe(0);
    expect(out).toMatch(/\[hungry\] out of memory with 60M; now 240M: retry 1 of 1/);
    expect(readFile(ws, 'results/hungry/outputs/out/hungry.txt')).toBe(String(150 * 1024 * 1024));
    expect(readFile(ws, 'results/hungry/logs/hungry.log')).toMatch(/^# command: srun .* --mem=240M /m);
    const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
    const rows = db.prepare("SELECT a.attempt, a.state, a.memory_mb FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = 'hungry' ORDER BY a.id").all();
    db.close();
    expect(rows).toEqual([
      { attempt: 1, state: 'out-of-memory', memory_mb: 60 },
      { attempt: 2, state: 'succeeded', memory_mb: 240 },
    ]);
  }, 120_000);

  it('rejects a stage larger than the allocation before running anything', () => {
    writeFile(ws, 'pipelines/alloc/pipeline.yaml', `${PIPELINE}${stage('huge', 8)}`);
    const { r, out } = inAllocation(ws, ['--skipNxCache']);
    expect(r.status).not.toBe(0);
    expect(out).toMatch(/huge/);
    expect(out).toMatch(/8 cores/);
    expect(existsSync(join(ws, 'results/alloc/outputs/out/huge.txt'))).toBe(false);
    writeFile(ws, 'pipelines/alloc/pipeline.yaml', PIPELINE);
  }, 120_000);

  it('quick-test asks for an allocation and runs the run inside it', () => {
    const r = campaign(ws, ['quick-test', 'runs/photoz-sim.yaml', '--time', '5m']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/Granted job allocation \d+/);
    expect(r.out).toMatch(/allocation \d+: vm \(16 cores\)/);
    expect(executedStages(r.out).length).toBeGreaterThan(0);
    expect(readFile(ws, 'results/photoz-sim/logs/split_catalog.log')).toMatch(/^# command: srun --job-name=photoz-sim\.split_catalog /m);
    // Done is done: the same run afterwards on the local backend (another task hash, since
    // --backend is an option) finds every stage's outputs made by this configuration.
    const again = runStages(ws, 'photoz-sim');
    expect(again.status).toBe(0);
    const ran = executedStages(again.out);
    expect(ran.length).toBeGreaterThan(0);
    for (const s of ran) expect(again.out).toContain(`${s.replace('photoz-sim.', 'photoz-sim/')}: up to date`);
  }, 180_000);
});
