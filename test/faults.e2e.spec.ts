import Database from 'better-sqlite3';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { campaign, describeSlurm, removeWorkspace, repoRoot, runStages, shStage, slurmWorkspace, startNx as startNxIn, writeFile } from './workspace';

/**
 * The cluster failing under a real run: the test SLURM's controller stopped, its node drained or
 * set DOWN, jobs requeued and held, a full file system, a locked record, nx killed between a
 * submission and its record. Each fault is injected by tools/slurm/fault.sh (or scontrol) while
 * `nx run-many` runs; every test leaves the controller up and the node idle. Slow: about 4 min.
 */
const FAULT = join(repoRoot, 'tools/slurm/fault.sh');
const fault = (...args: string[]) => execFileSync(FAULT, args, { encoding: 'utf8' });
const scontrol = (...args: string[]) => execFileSync('scontrol', args, { encoding: 'utf8' });
const POLL = '--pollInterval=1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(200)) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** nx processes the running test started, killed after it (a test that timed out leaves its own). */
const started: ReturnType<typeof startNxIn>[] = [];
function startNx(...args: Parameters<typeof startNxIn>) {
  const nx = startNxIn(...args);
  started.push(nx);
  return nx;
}

const marker = (ws: string) => `nx-campaign:${createHash('sha256').update(realpathSync(ws)).digest('hex').slice(0, 8)}:`;

/** The cluster as it was: controller up, node taking jobs, none of the workspace's jobs left. */
function restore(ws: string): void {
  fault('controller-start');
  try {
    fault('node', 'resume');
    execFileSync('scontrol', ['update', 'PartitionName=debug', 'State=UP']);
    spawnSync('scontrol', ['delete', 'PartitionName=spare']); // fails when there is none
  } finally {
    cancelAll(ws);
  }
}
/**
 * Cancels the workspace's live jobs; `everyone`: every nx-campaign job (a controller restarted
 * from older save files brings back jobs of earlier tests' workspaces).
 */
function cancelAll(ws: string, everyone = false): void {
  const ids = jobsOf(ws, '', everyone ? 'nx-campaign:' : undefined).filter((j) => !/^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)$/.test(j.state)).map((j) => j.id);
  if (ids.length) execFileSync('scancel', ids);
}

interface Job {
  id: string;
  state: string;
  reason: string;
  stage: string;
}

/** Every job SLURM lists for `run` ('': every run) of workspace `ws`, by the comment nx-campaign gives them. */
function jobsOf(ws: string, run: string, prefix = run ? `${marker(ws)}${run}/` : marker(ws)): Job[] {
  return execFileSync('squeue', ['--noheader', '--states=all', '--me', '--Format=JobID:|,State:|,Reason:|,Comment:|'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split('|'))
    .filter(([, , , c]) => c?.startsWith(prefix))
    .map(([id, state, reason, c]) => ({ id, state, reason, stage: c.slice(prefix.length) }));
}

interface AttemptRow {
  stage: string;
  attempt: number;
  state: string;
  job_id: string | null;
  failure_class: string | null;
  wait_reason: string | null;
  message: string | null;
}

function attempts(ws: string, run: string): AttemptRow[] {
  const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT a.stage, a.attempt, a.state, a.job_id, a.failure_class, a.wait_reason, a.message FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? ORDER BY a.id').all(run) as AttemptRow[];
  } finally {
    db.close();
  }
}

/** One job per stage, and each stage done by exactly one succeeded attempt. */
function exactlyOnce(ws: string, run: string, stages: string[]): void {
  const jobs = jobsOf(ws, run);
  expect(jobs.map((j) => j.stage).sort()).toEqual([...stages].sort());
  expect(jobs.every((j) => j.state === 'COMPLETED'), JSON.stringify(jobs)).toBe(true);
  const done = attempts(ws, run).filter((a) => a.state === 'succeeded');
  expect(done.map((a) => a.stage).sort()).toEqual([...stages].sort());
}

/**
 * An `sbatch` first on PATH that logs its calls to `<ws>/sbatch.calls`, waits `SBATCH_DELAY`
 * seconds before the real one, and `SBATCH_HOLD` seconds after it when `<ws>/sbatch.hold` exists:
 * SLURM then has the job while nx does not know it yet.
 */
function sbatchWrapper(ws: string): Record<string, string> {
  const real = execFileSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).trim();
  writeFile(ws, 'bin/sbatch', `#!/bin/sh
echo "$*" >> ${JSON.stringify(join(ws, 'sbatch.calls'))}
sleep "\${SBATCH_DELAY:-0}"
${JSON.stringify(real)} "$@"
code=$?
[ -e ${JSON.stringify(join(ws, 'sbatch.hold'))} ] && sleep "\${SBATCH_HOLD:-0}"
exit $code
`);
  chmodSync(join(ws, 'bin/sbatch'), 0o755);
  return { PATH: `${join(ws, 'bin')}:${process.env.PATH}` };
}
const sbatchCalls = (ws: string) => (existsSync(join(ws, 'sbatch.calls')) ? readFileSync(join(ws, 'sbatch.calls'), 'utf8').trim().split('\n').length : 0);

describeSlurm('the cluster failing under a run (real SLURM)', () => {
  let ws: string;
  let path: Record<string, string>;

  beforeAll(() => {
    ws = slurmWorkspace();
    path = sbatchWrapper(ws);
    restore(ws); // as a test leaves it, whatever ran before
  });
  // In afterEach, not a finally: vitest runs it after a timed-out test too, before the next one.
  afterEach(async (ctx) => {
    for (const nx of started.splice(0)) {
      if (ctx.task.result?.state === 'fail') console.log(`--- output of nx ---\n${nx.out()}\n--- squeue ---\n${JSON.stringify(jobsOf(ws, ''))}`);
      try {
        await nx.kill();
      } catch {} // ESRCH: it had exited
    }
    restore(ws);
  });
  afterAll(() => removeWorkspace(ws));

  it('survives the controller stopped for 30 s in the middle of submitting: back-off, then every job once', async () => {
    const stages = Array.from({ length: 24 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
    writeFile(ws, 'pipelines/fan/pipeline.yaml', `stages:\n${stages.map((s) => shStage(s, `echo ${s} > ${s}.txt`, { outputs: [`${s}.txt`] })).join('')}${shStage('last', 'cat s*.txt > all.txt', { depends: stages, outputs: ['all.txt'] })}`);
    writeFile(ws, 'runs/fan.yaml', 'pipelines: fan\nsite: testslurm\noutput_dir: results/fan/out\nlog_dir: results/fan/logs\n');
    const nx = startNx(ws, 'fan', [POLL], { ...path, SBATCH_DELAY: '0.3' });
    await until('6 submissions', () => jobsOf(ws, 'fan').length >= 6);
    fault('controller-stop');
    const before = sbatchCalls(ws);
    await sleep(30_000);
    fault('controller-start');
    expect(await nx.exited, nx.out()).toBe(0);
    const out = nx.out();
    expect(before).toBeLessThan(stages.length + 1); // some were left to submit once it was back
    expect(out).toMatch(/Unable to contact slurm controller.*trying again with back-off/);
    expect(out).toMatch(/SLURM answers again: submitting s\d\d done/);
    exactlyOnce(ws, 'fan', [...stages, 'last']);
    expect(readFileSync(join(ws, 'results/fan/out/all.txt'), 'utf8').trim().split('\n')).toHaveLength(stages.length);
  }, 180_000);

  it('shows why a job waits on a drained node, and finishes once the node resumes', async () => {
    writeFile(ws, 'pipelines/drain/pipeline.yaml', `stages:\n${shStage('d1', 'sleep 3; echo a > a.txt', { outputs: ['a.txt'] })}${shStage('d2', 'cat a.txt > b.txt', { depends: ['d1'], outputs: ['b.txt'] })}`);
    writeFile(ws, 'runs/drain.yaml', 'pipelines: drain\nsite: testslurm\noutput_dir: results/drain/out\nlog_dir: results/drain/logs\n');
    const nx = startNx(ws, 'drain', [POLL], path);
    await until('d1 running', () => jobsOf(ws, 'drain').some((j) => j.stage === 'd1' && j.state === 'RUNNING'));
    fault('node', 'drain', 'disk replaced');
    // d1 finishes on the draining node; d2 may not start there.
    // SLURM words it "ReqNodeNotAvail, UnavailableNodes:vm", then "Nodes required for job are DOWN, DRAINED ...".
    const waiting = await until('the wait recorded', () => attempts(ws, 'drain').find((a) => a.stage === 'd2' && /ReqNodeNotAvail|Nodes required/.test(a.wait_reason ?? '')));
    const report = campaign(ws, ['report', 'runs/drain.yaml']);
    expect(report.out).toMatch(new RegExp(`d2: pending \\(job ${waiting.job_id}\\): (ReqNodeNotAvail|Nodes required)`));
    expect(nx.out()).toContain(`[d2] pending (job ${waiting.job_id}): ${waiting.wait_reason}`);
    fault('node', 'resume');
    expect(await nx.exited, nx.out()).toBe(0);
    exactlyOnce(ws, 'drain', ['d1', 'd2']);
    expect(attempts(ws, 'drain').find((a) => a.stage === 'd2')!.wait_reason).toBeNull();
  }, 120_000);

  it('records a node failure under a running job, not a science failure, and follows the job SLURM requeued', async () => {
    writeFile(ws, 'pipelines/nodefail/pipeline.yaml', `stages:\n${shStage('n1', 'echo partial > n1.txt; sleep 5; echo whole > n1.txt', { outputs: ['n1.txt'] })}`);
    writeFile(ws, 'runs/nodefail.yaml', 'pipelines: nodefail\nsite: testslurm\noutput_dir: results/nodefail/out\nlog_dir: results/nodefail/logs\nretries: {count: 0}\n');
    const nx = startNx(ws, 'nodefail', [POLL], path);
    const job = await until('n1 running', () => jobsOf(ws, 'nodefail').find((j) => j.stage === 'n1' && j.state === 'RUNNING'));
    await until('n1 writing', () => existsSync(join(ws, 'results/nodefail/out/n1.txt')));
    fault('node', 'down', 'power supply');
    await until('attempt 1 recorded as a node failure', () => attempts(ws, 'nodefail').find((a) => a.attempt === 1 && a.state === 'node-failure'));
    // Half-written: not an output while the job waits for its next run.
    expect(existsSync(join(ws, 'results/nodefail/out/n1.txt'))).toBe(false);
    fault('node', 'resume');
    scontrol('update', `JobId=${job.id}`, 'StartTime=now'); // SLURM holds a requeued job 2 min
    expect(await nx.exited, nx.out()).toBe(0);
    const a = attempts(ws, 'nodefail');
    expect(a.map((x) => [x.attempt, x.state, x.job_id, x.failure_class])).toEqual([
      [1, 'node-failure', job.id, 'infrastructure'],
      [2, 'succeeded', job.id, null],
    ]);
    expect(a[0].message).toMatch(/node \S+ \(down\S*\) failed under job \d+; SLURM requeued it/);
    expect(readFileSync(join(ws, 'results/nodefail/out/n1.txt'), 'utf8')).toBe('whole\n');
  }, 120_000);

  it('retries a job that ended NODE_FAIL (no requeue) as an infrastructure failure, without using retries.count', async () => {
    writeFile(ws, 'sbatch/stages/nf1.hbs', campaign(ws, ['sbatch-template']).stdout.replace('#SBATCH --job-name', '#SBATCH --no-requeue\n#SBATCH --job-name'));
    writeFile(ws, 'pipelines/noreq/pipeline.yaml', `stages:\n${shStage('nf1', 'sleep 5; echo done > nf1.txt', { outputs: ['nf1.txt'] })}`);
    writeFile(ws, 'runs/noreq.yaml', 'pipelines: noreq\nsite: testslurm\noutput_dir: results/noreq/out\nlog_dir: results/noreq/logs\nretries: {count: 0}\n');
    const nx = startNx(ws, 'noreq', [POLL], path);
    const first = await until('nf1 running', () => jobsOf(ws, 'noreq').find((j) => j.stage === 'nf1' && j.state === 'RUNNING'));
    fault('node', 'down', 'fan failure');
    const second = await until('nf1 submitted again', () => jobsOf(ws, 'noreq').find((j) => j.stage === 'nf1' && j.id !== first.id));
    fault('node', 'resume');
    expect(await nx.exited, nx.out()).toBe(0);
    expect(nx.out()).toMatch(/infrastructure retry 1 of 3/);
    const a = attempts(ws, 'noreq');
    expect(a.map((x) => [x.attempt, x.state, x.job_id, x.failure_class])).toEqual([
      [1, 'node-failure', first.id, 'infrastructure'],
      [2, 'succeeded', second.id, null],
    ]);
  }, 120_000);

  it('follows a requeued (preempted) job under its id without counting a failure, and holds its outputs back', async () => {
    writeFile(ws, 'pipelines/preempt/pipeline.yaml', `stages:\n${shStage('p1', 'echo partial > p1.txt; sleep 4; echo whole > p1.txt', { outputs: ['p1.txt'] })}${shStage('p2', 'cat p1.txt > p2.txt', { depends: ['p1'], outputs: ['p2.txt'] })}`);
    writeFile(ws, 'runs/preempt.yaml', 'pipelines: preempt\nsite: testslurm\noutput_dir: results/preempt/out\nlog_dir: results/preempt/logs\nretries: {count: 0}\n');
    const nx = startNx(ws, 'preempt', [POLL], path);
    const job = await until('p1 running', () => jobsOf(ws, 'preempt').find((j) => j.stage === 'p1' && j.state === 'RUNNING'));
    await until('p1 writing', () => existsSync(join(ws, 'results/preempt/out/p1.txt')));
    scontrol('requeue', job.id);
    await until('attempt 1 recorded as preempted', () => attempts(ws, 'preempt').find((a) => a.stage === 'p1' && a.attempt === 1 && a.state === 'preempted'));
    expect(existsSync(join(ws, 'results/preempt/out/p1.txt'))).toBe(false);
    scontrol('update', `JobId=${job.id}`, 'StartTime=now');
    expect(await nx.exited, nx.out()).toBe(0);
    expect(nx.out()).toContain(`SLURM requeued job ${job.id} (preempted, or scontrol requeue`);
    expect(attempts(ws, 'preempt').filter((a) => a.stage === 'p1').map((x) => [x.attempt, x.state, x.job_id, x.failure_class])).toEqual([
      [1, 'preempted', job.id, 'infrastructure'],
      [2, 'succeeded', job.id, null],
    ]);
    expect(readFileSync(join(ws, 'results/preempt/out/p2.txt'), 'utf8')).toBe('whole\n');
    exactlyOnce(ws, 'preempt', ['p1', 'p2']);
  }, 120_000);

  it('shows a held job as held, and goes on once it is released', async () => {
    writeFile(ws, 'pipelines/hold/pipeline.yaml', `stages:\n${shStage('h1', 'sleep 2; echo a > a.txt', { outputs: ['a.txt'] })}${shStage('h2', 'cat a.txt > b.txt', { depends: ['h1'], outputs: ['b.txt'] })}`);
    writeFile(ws, 'runs/hold.yaml', 'pipelines: hold\nsite: testslurm\noutput_dir: results/hold/out\nlog_dir: results/hold/logs\n');
    const nx = startNx(ws, 'hold', [POLL], path);
    const h2 = await until('h2 submitted', () => jobsOf(ws, 'hold').find((j) => j.stage === 'h2'));
    scontrol('hold', h2.id);
    await until('h2 held in the record', () => attempts(ws, 'hold').find((a) => a.stage === 'h2' && a.state === 'held'), 30_000);
    await until('h1 done', () => existsSync(join(ws, 'results/hold/out/a.txt')));
    const report = campaign(ws, ['report', 'runs/hold.yaml']).out;
    expect(report).toMatch(/HELD/);
    expect(report).toContain(`h2: held (job ${h2.id}): JobHeldAdmin`);
    scontrol('release', h2.id);
    expect(await nx.exited, nx.out()).toBe(0);
    exactlyOnce(ws, 'hold', ['h1', 'h2']);
  }, 90_000);

  it('fails a stage whose output file system is full with a message naming it, and reports no success', async () => {
    const small = join(ws, 'small');
    execFileSync('mkdir', ['-p', small]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      writeFile(ws, 'pipelines/full/pipeline.yaml', `stages:\n${shStage('f1', 'head -c 3000000 /dev/zero > big.dat', { outputs: ['big.dat'] })}${shStage('f2', 'cat big.dat > f2.dat', { depends: ['f1'], outputs: ['f2.dat'] })}`);
      writeFile(ws, 'runs/full.yaml', 'pipelines: full\nsite: testslurm\noutput_dir: small/out\nlog_dir: results/full/logs\nretries: {count: 2}\n');
      const r = runStages(ws, 'full', [POLL], path);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(new RegExp(`file system full: ${small}/out is on ${small} .* free of 1(\\.0)? MiB`));
      expect(r.out).toContain('fix: free space there and run again');
      const a = attempts(ws, 'full');
      expect(a.map((x) => [x.stage, x.state, x.failure_class])).toEqual([
        ['f1', 'failed', 'infrastructure'],
        ['f2', 'pruned', null],
      ]);
      expect(existsSync(join(small, 'out/big.dat'))).toBe(false);
      // The log folder full too: nothing is submitted, and the record says why.
      writeFile(ws, 'runs/full.yaml', 'pipelines: full\nsite: testslurm\noutput_dir: results/full/out\nlog_dir: small/logs\n');
      execFileSync('sh', ['-c', `mkdir -p ${small}/logs; head -c 2000000 /dev/zero > ${small}/filler 2>/dev/null || true`]);
      const calls = sbatchCalls(ws);
      const r2 = runStages(ws, 'full', [POLL], path);
      expect(r2.status).not.toBe(0);
      expect(r2.out).toMatch(/not submitted: file system full: /);
      expect(sbatchCalls(ws)).toBe(calls);
      expect(attempts(ws, 'full').every((x) => x.state !== 'succeeded' && x.state !== 'running' && x.state !== 'submitted')).toBe(true);
    } finally {
      execFileSync('umount', [small]);
    }
  }, 90_000);

  it('stops, leaving its jobs running, when the record stays locked beyond the busy timeout; the next run re-attaches', async () => {
    writeFile(ws, 'pipelines/locked/pipeline.yaml', `stages:\n${shStage('l1', 'sleep 4; echo a > a.txt', { outputs: ['a.txt'] })}${shStage('l2', 'cat a.txt > b.txt', { depends: ['l1'], outputs: ['b.txt'] })}`);
    writeFile(ws, 'runs/locked.yaml', 'pipelines: locked\nsite: testslurm\noutput_dir: results/locked/out\nlog_dir: results/locked/logs\n');
    const env = { ...path, NX_CAMPAIGN_RECORD_TIMEOUT: '2' };
    const nx = startNx(ws, 'locked', [POLL], env);
    await until('l1 running', () => jobsOf(ws, 'locked').some((j) => j.stage === 'l1' && j.state === 'RUNNING'));
    // Another writer holds the record's write lock for 8 s.
    const holder = spawn('python3', ['-c', `import sqlite3, time, sys\nc = sqlite3.connect(${JSON.stringify(join(ws, '.campaign/record.sqlite'))}, isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(8)\nc.execute('COMMIT')`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => holder.stdout.once('data', r));
    const code = await nx.exited;
    expect(code, nx.out()).not.toBe(0);
    expect(nx.out()).toMatch(/record\.sqlite stayed locked by another process for more than 2 s/);
    expect(nx.out()).not.toMatch(/cancelled/);
    await new Promise((r) => holder.on('exit', r));
    const calls = sbatchCalls(ws);
    const again = runStages(ws, 'locked', [POLL], env);
    expect(again.status, again.out).toBe(0);
    expect(again.out).toMatch(/re-attached to job \d+/);
    expect(sbatchCalls(ws)).toBe(calls);
    exactlyOnce(ws, 'locked', ['l1', 'l2']);
  }, 90_000);

  it('finds a job submitted by an nx killed before it recorded it, by its comment, and never submits it twice', async () => {
    writeFile(ws, 'pipelines/orphan/pipeline.yaml', `stages:\n${shStage('o1', 'sleep 3; echo a > a.txt', { outputs: ['a.txt'] })}${shStage('o2', 'cat a.txt > b.txt', { depends: ['o1'], outputs: ['b.txt'] })}`);
    writeFile(ws, 'runs/orphan.yaml', 'pipelines: orphan\nsite: testslurm\noutput_dir: results/orphan/out\nlog_dir: results/orphan/logs\n');
    writeFile(ws, 'sbatch.hold', '');
    const nx = startNx(ws, 'orphan', [POLL], { ...path, SBATCH_HOLD: '20' });
    const o1 = await until('o1 in SLURM', () => jobsOf(ws, 'orphan').find((j) => j.stage === 'o1'));
    await nx.kill(); // SLURM has o1; nx had not read its id
    execFileSync('rm', [join(ws, 'sbatch.hold')]);
    expect(attempts(ws, 'orphan').some((a) => a.job_id === o1.id)).toBe(false);
    const r = runStages(ws, 'orphan', [POLL], path);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`[o1] re-attached to job ${o1.id}`);
    expect(r.out).toContain('found by its comment');
    exactlyOnce(ws, 'orphan', ['o1', 'o2']);
    expect(attempts(ws, 'orphan').find((a) => a.stage === 'o1' && a.state === 'succeeded')!.job_id).toBe(o1.id);
  }, 90_000);
  it('says which other partitions could start a job while its own is down, and how to let SLURM use them; waits, then finishes', async () => {
    writeFile(ws, 'pipelines/parted/pipeline.yaml', `stages:\n${shStage('p1', 'echo a > a.txt', { outputs: ['a.txt'] })}`);
    writeFile(ws, 'runs/parted.yaml', 'pipelines: parted\nsite: testslurm\noutput_dir: results/parted/out\nlog_dir: results/parted/logs\n');
    execFileSync('scontrol', ['create', 'PartitionName=spare', 'Nodes=ALL', 'State=UP']);
    execFileSync('scontrol', ['update', 'PartitionName=debug', 'State=DOWN']);
    const nx = startNx(ws, 'parted', [POLL], path);
    await until('the other partition named', () => /no node of partition debug can start job \d+, but spare \(1 node free\) is up; the run waits/.test(nx.out()));
    expect(nx.out()).toContain('fix: to let SLURM use it, set partition: debug,spare for site testslurm in sites.yaml');
    await new Promise((r) => setTimeout(r, 3000));
    expect(nx.out().match(/no node of partition/g)).toHaveLength(1); // said once
    expect(jobsOf(ws, 'parted').map((j) => j.state)).toEqual(['PENDING']);
    execFileSync('scontrol', ['update', 'PartitionName=debug', 'State=UP']);
    expect(await nx.exited, nx.out()).toBe(0);
    exactlyOnce(ws, 'parted', ['p1']);
    // Taking the advice: the same outage, and SLURM starts the job in spare.
    writeFile(ws, 'sites.yaml', readFileSync(join(ws, 'sites.yaml'), 'utf8').replace('partition: debug\n', 'partition: debug,spare\n'));
    writeFile(ws, 'pipelines/parted/pipeline.yaml', `stages:\n${shStage('p1', 'echo b > a.txt', { outputs: ['a.txt'] })}`);
    execFileSync('scontrol', ['update', 'PartitionName=debug', 'State=DOWN']);
    try {
      const r = runStages(ws, 'parted', [POLL], path);
      expect(r.status, r.out).toBe(0);
      expect(r.out).not.toMatch(/no node of partition/);
    } finally {
      writeFile(ws, 'sites.yaml', readFileSync(join(ws, 'sites.yaml'), 'utf8').replace('partition: debug,spare\n', 'partition: debug\n'));
    }
    expect(readFileSync(join(ws, 'results/parted/out/a.txt'), 'utf8')).toBe('b\n');
  }, 90_000);
  // Last: the controller it restarts may hand out job ids slurmd still knows, which upsets the tests after it.
  it('survives the controller killed (SIGKILL) and restarted from its save files', async () => {
    const stages = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    writeFile(ws, 'pipelines/killed/pipeline.yaml', `stages:\n${stages.map((s, i) => shStage(s, `sleep 2; echo ${s} > ${s}.txt`, { depends: i ? [stages[i - 1]] : undefined, outputs: [`${s}.txt`] })).join('')}`);
    writeFile(ws, 'runs/killed.yaml', 'pipelines: killed\nsite: testslurm\noutput_dir: results/killed/out\nlog_dir: results/killed/logs\n');
    const nx = startNx(ws, 'killed', [POLL], path);
    await until('k2 running', () => jobsOf(ws, 'killed').some((j) => j.stage === 'k2' && j.state === 'RUNNING'));
    fault('controller-stop', '--kill');
    await sleep(10_000);
    fault('controller-start');
    // A job id handed out again while its first job still runs on the node makes SLURM drain the
    // node ("Duplicate jobid") and requeue the new job: the node resumed, the job's 2 min requeue
    // delay cut, as the admin would.
    let done = false;
    void nx.exited.then(() => (done = true));
    for (; !done; await sleep(1000)) {
      if (/drain/i.test(execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' }))) fault('node', 'resume');
      for (const j of jobsOf(ws, 'killed')) if (j.state === 'PENDING' && j.reason === 'BeginTime') scontrol('update', `JobId=${j.id}`, 'StartTime=now');
    }
    expect(await nx.exited, nx.out()).toBe(0);
    // Jobs it took after its last save are gone, their ids handed out again: the record and the outputs say what ran.
    expect(attempts(ws, 'killed').filter((a) => a.state === 'succeeded').map((a) => a.stage).sort()).toEqual(stages);
    for (const s of stages) expect(readFileSync(join(ws, `results/killed/out/${s}.txt`), 'utf8')).toBe(`${s}\n`);
    cancelAll(ws, true);
  }, 150_000);
});
