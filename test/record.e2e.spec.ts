import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRecord, processAlive } from '../packages/nx-campaign/src/store/record';
import { campaign, HUNGRY_STAGE, itSlurm, notCancelled, nx, readFile, removeWorkspace, runStages, slurmWorkspace, startNx, writeFile } from './workspace';

/**
 * The campaign record (.campaign/record.sqlite) against real nx processes, the local backend
 * and the real SLURM of tools/slurm/start.sh.
 */
const POLL = '--pollInterval=1';

const sleeper = (name: string, seconds: number, depends: string) => `  ${name}:
    executable: sh
    script-args: ["-c", "sleep ${seconds}; echo ${name} > out/${name}.txt"]
    depends: ${depends}
    outputs: [out/${name}.txt]
    resources: {memory: 50M, runtime: 5m}
`;

/** Fails on its first attempt (exit 3), succeeds on the next: a transient failure. */
const FLAKY = `stages:
  prep:
    executable: sh
    script-args: ["-c", "echo prep > out/prep.txt"]
    depends: null
    outputs: [out/prep.txt]
    resources: {memory: 50M, runtime: 1m}
  flaky:
    executable: sh
    script-args: ["-c", "if [ -e tried ]; then echo fine > out/flaky.txt; else touch tried; echo 'flaky broke: disk full' >&2; exit 3; fi"]
    depends: [prep]
    outputs: [out/flaky.txt]
    resources: {memory: 50M, runtime: 1m}
  after:
    executable: sh
    script-args: ["-c", "cat out/flaky.txt > out/after.txt"]
    depends: [flaky]
    outputs: [out/after.txt]
    resources: {memory: 50M, runtime: 1m}
`;

/** Needs about 150 MB: over 60M, within 240M. Its child runs only after it succeeded. */
const HUNGRY = `stages:
${HUNGRY_STAGE}  fed:
    executable: sh
    script-args: ["-c", "cat out/hungry.txt > out/fed.txt"]
    depends: [hungry]
    outputs: [out/fed.txt]
    resources: {memory: 50M, runtime: 1m}
`;

/** A one-stage pipeline whose first attempt runs `first` (which fails); the next writes its output. */
const failsFirstTime = (name: string, first: string, resources: string) => `stages:
  ${name}:
    executable: sh
    script-args: ["-c", ${JSON.stringify(`if [ -e tried ]; then echo done > out/${name}.txt; else touch tried; ${first}; fi`)}]
    depends: null
    outputs: [out/${name}.txt]
    resources: ${resources}
`;

function jobState(id: string): string {
  return /JobState=(\S+)/.exec(execFileSync('scontrol', ['show', 'job', id], { encoding: 'utf8' }))![1];
}

interface Row { stage: string; attempt: number; job_id: string | null; state: string; peak_memory_mb: number | null; nodes: string | null }

describe.sequential('campaign record', () => {
  let ws: string;
  const attempts = (run: string): Row[] => {
    const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT a.stage, a.attempt, a.job_id, a.state, a.peak_memory_mb, a.nodes FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? ORDER BY a.id').all(run) as Row[];
    } finally {
      db.close();
    }
  };

  const activePid = (run: string): number => {
    const rec = CampaignRecord.openExisting(ws)!;
    try {
      return rec.activeInvocation(run)!.pid;
    } finally {
      rec.close();
    }
  };

  beforeAll(() => {
    ws = slurmWorkspace();
    writeFile(ws, 'pipelines/flaky/pipeline.yaml', FLAKY);
    writeFile(ws, 'runs/flaky-local.yaml', 'pipelines: flaky\n');
    writeFile(ws, 'runs/flaky-slurm.yaml', 'pipelines: flaky\nsite: testslurm\n');
    writeFile(ws, 'pipelines/long/pipeline.yaml', `stages:\n${sleeper('a', 4, 'null')}${sleeper('b', 2, '[a]')}${sleeper('c', 6, 'null')}${sleeper('d', 1, '[b, c]')}`);
    writeFile(ws, 'runs/long.yaml', 'pipelines: long\nsite: testslurm\n');
    writeFile(ws, 'pipelines/hungry/pipeline.yaml', HUNGRY);
    writeFile(ws, 'runs/hungry.yaml', 'pipelines: hungry\nsite: testslurm\nretries: {count: 1, memory_multiplier: 4}\n');
  });
  afterAll(() => removeWorkspace(ws));

  it('records a local run: report, logs of the failure, retry of what failed only, refusal when complete', () => {
    expect(runStages(ws, 'flaky-local').status).not.toBe(0);
    const report = campaign(ws, ['report', 'runs/flaky-local.yaml', '--json']);
    expect(report.status, report.out).toBe(0);
    const r = JSON.parse(report.stdout) as { stages: { stage: string; state: string; exitCode: number | null }[]; expected: number; totals: Record<string, number> };
    expect(r.stages.map((s) => [s.stage, s.state, s.exitCode])).toEqual([
      ['prep', 'succeeded', 0],
      ['flaky', 'failed', 3],
      ['after', 'pruned', null],
    ]);
    expect([r.expected, r.totals.succeeded, r.totals.failed, r.totals.pruned]).toEqual([3, 1, 1, 1]);
    const table = campaign(ws, ['report', 'flaky-local']).out;
    expect(table).toMatch(/TOTAL\s*│\s*1\s*│\s*1\s*│\s*1\s*│\s*3\s*│/);
    const logs = campaign(ws, ['logs', 'flaky-local', 'flaky']);
    expect(logs.out).toContain('flaky-local/flaky attempt 1 of 1: failed, exit 3');
    expect(logs.out).toContain(`full log`);
    expect(logs.out).toContain(join(ws, 'results/flaky-local/logs/flaky.log'));
    expect(logs.out).toContain('flaky broke: disk full');

    const retry = campaign(ws, ['retry', 'runs/flaky-local.yaml']);
    expect(retry.status, retry.out).toBe(0);
    expect(attempts('flaky-local').map((a) => [a.stage, a.attempt, a.state])).toEqual([
      ['prep', 1, 'succeeded'],
      ['flaky', 1, 'failed'],
      ['after', 1, 'pruned'],
      ['flaky', 2, 'succeeded'],
      ['after', 2, 'succeeded'],
    ]);
    const again = campaign(ws, ['retry', 'flaky-local']);
    expect(again.status).toBe(1);
    expect(again.out).toContain('run flaky-local is complete: every stage');
    const status = campaign(ws, ['status']);
    expect(status.out).toMatch(/flaky-local\s*│\s*1\s*│\s*local\s*│\s*local\s*│\s*done/);
    // The same through Nx's targets on the run.
    const viaNx = nx(ws, ['run', 'flaky-local:report', '--json']);
    expect(viaNx.status, viaNx.out).toBe(0);
    expect(viaNx.out).toContain('"state": "succeeded"');
  }, 120_000);

  it('retries a transient failure, and never an exit code listed in retries.never (local)', () => {
    writeFile(ws, 'runs/flaky-retry.yaml', 'pipelines: flaky\nretries: {count: 2}\n');
    const ok = runStages(ws, 'flaky-retry');
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toContain('[flaky] exited with code 3');
    expect(ok.out).toMatch(/retry 1 of 2/);
    expect(attempts('flaky-retry').map((a) => [a.stage, a.attempt, a.state])).toEqual([
      ['prep', 1, 'succeeded'],
      ['flaky', 1, 'failed'],
      ['flaky', 2, 'succeeded'],
      ['after', 1, 'succeeded'],
    ]);
    writeFile(ws, 'runs/flaky-never.yaml', 'pipelines: flaky\nretries: {count: 2, never: [3]}\n');
    const no = runStages(ws, 'flaky-never');
    expect(no.status).not.toBe(0);
    expect(no.out).toContain('not retried: exit code 3 is in retries.never');
    expect(attempts('flaky-never').map((a) => [a.stage, a.state])).toEqual([
      ['prep', 'succeeded'],
      ['flaky', 'failed'],
      ['after', 'pruned'],
    ]);
  }, 120_000);

  it("applies the site's retries on the local backend (sites.yaml), the run's own winning", () => {
    const sites = readFile(ws, 'sites.yaml');
    writeFile(ws, 'sites.yaml', `${sites}  local:\n    retries: {count: 1}\n`);
    try {
      writeFile(ws, 'runs/flaky-site.yaml', 'pipelines: flaky\n');
      const ok = runStages(ws, 'flaky-site');
      expect(ok.status, ok.out).toBe(0);
      expect(ok.out).toMatch(/\[flaky\] exited with code 3 .*: retry 1 of 1/);
      expect(attempts('flaky-site').map((a) => [a.stage, a.attempt, a.state])).toEqual([
        ['prep', 1, 'succeeded'],
        ['flaky', 1, 'failed'],
        ['flaky', 2, 'succeeded'],
        ['after', 1, 'succeeded'],
      ]);
      writeFile(ws, 'runs/flaky-site-none.yaml', 'pipelines: flaky\nretries: {count: 0}\n');
      const none = runStages(ws, 'flaky-site-none');
      expect(none.status).not.toBe(0);
      expect(attempts('flaky-site-none').map((a) => [a.stage, a.state])).toEqual([
        ['prep', 'succeeded'],
        ['flaky', 'failed'],
        ['after', 'pruned'],
      ]);
    } finally {
      writeFile(ws, 'sites.yaml', sites);
    }
  }, 120_000);

  it('retries a stage out of memory with more on the local backend (one retry policy), and keeps the raised size', () => {
    writeFile(ws, 'pipelines/greedy/pipeline.yaml', failsFirstTime('greedy', "echo 'MemoryError: cannot allocate array' >&2; exit 1", '{memory: 100M, runtime: 1m}'));
    writeFile(ws, 'runs/greedy.yaml', 'pipelines: greedy\nretries: {count: 1}\n');
    const r = runStages(ws, 'greedy');
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('[greedy] out of memory with 100M; now 200M: retry 1 of 1');
    const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
    try {
      expect(db.prepare("SELECT a.attempt, a.state, a.memory_mb, a.declared_memory_mb FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = 'greedy' ORDER BY a.id").all()).toEqual([
        { attempt: 1, state: 'out-of-memory', memory_mb: 100, declared_memory_mb: 100 },
        { attempt: 2, state: 'succeeded', memory_mb: 200, declared_memory_mb: 100 },
      ]);
    } finally {
      db.close();
    }
    // The next run of the same configuration starts at the size that worked.
    const plan = campaign(ws, ['plan', 'runs/greedy.yaml']);
    expect(plan.out).toMatch(/greedy .* 200M \(was 100M\)/);
  }, 120_000);

  itSlurm('retries an out-of-memory job with more memory, keeps the raised memory for later plans (SLURM)', () => {
    const r = runStages(ws, 'hungry', [POLL]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/\[hungry\] job (\d+) out of memory with 60M; now 240M: retry 1 of 1 as job (\d+)/);
    const rows = attempts('hungry');
    // In the order they were submitted: the child before the retry of its parent.
    expect(rows.map((a) => [a.stage, a.attempt, a.state])).toEqual([
      ['hungry', 1, 'out-of-memory'],
      ['fed', 1, 'succeeded'],
      ['hungry', 2, 'succeeded'],
    ]);
    expect(jobState(rows[0].job_id!)).toBe('OUT_OF_MEMORY');
    // Peak memory from the job's cgroup (the test SLURM enforces memory with cgroups): the 150 MB it needed.
    expect(rows[2].peak_memory_mb).toBeGreaterThan(150);
    expect(rows[2].peak_memory_mb).toBeLessThan(240);
    // The child waited for the retry: its job, submitted with the first attempt, was re-pointed to the second.
    expect(Number(rows[1].job_id)).toBeLessThan(Number(rows[2].job_id));
    expect(readFile(ws, 'results/hungry/outputs/out/fed.txt')).toBe(String(150 * 1024 * 1024));
    expect(readFile(ws, 'results/hungry/logs/hungry.sbatch')).toMatch(/^#SBATCH --mem=240M$/m);
    const plan = campaign(ws, ['plan', 'runs/hungry.yaml']);
    expect(plan.out).toMatch(/hungry .* 240M \(was 60M\)/);
    expect(plan.out).toMatch(/estimate\s*│\s*measured/);
  }, 120_000);

  itSlurm('retries a job that reached its walltime with a longer one (SLURM)', () => {
    writeFile(ws, 'pipelines/slowpoke/pipeline.yaml', failsFirstTime('slowpoke', 'sleep 600', '{memory: 50M, runtime: 20s}'));
    writeFile(ws, 'runs/slowpoke.yaml', 'pipelines: slowpoke\nsite: testslurm\nretries: {count: 1}\n');
    const r = runStages(ws, 'slowpoke', [POLL]);
    expect(r.status, r.out).toBe(0);
    // 20 s x 1.5, rounded up to a minute; then x 1.5, rounded up to a minute.
    expect(r.out).toMatch(/\[slowpoke\] job \d+ timed out after 1m; now 2m: retry 1 of 1 as job \d+/);
    const rows = attempts('slowpoke');
    expect(rows.map((a) => [a.attempt, a.state])).toEqual([
      [1, 'timeout'],
      [2, 'succeeded'],
    ]);
    expect(jobState(rows[0].job_id!)).toBe('TIMEOUT');
    expect(readFile(ws, 'results/slowpoke/logs/slowpoke.sbatch')).toMatch(/^#SBATCH --time=0-00:02:00$/m);
  }, 240_000);

  itSlurm('report matches what SLURM says: the failed job FAILED, its pruned child CANCELLED', () => {
    expect(runStages(ws, 'flaky-slurm', [POLL]).status).not.toBe(0);
    const rows = attempts('flaky-slurm');
    expect(rows.map((a) => [a.stage, a.state])).toEqual([
      ['prep', 'succeeded'],
      ['flaky', 'failed'],
      ['after', 'pruned'],
    ]);
    expect(rows.map((a) => jobState(a.job_id!))).toEqual(['COMPLETED', 'FAILED', 'CANCELLED']);
  }, 120_000);

  itSlurm('after nx is killed mid-run, the next invocation re-attaches: no job submitted twice, every stage done once', async () => {
    const first = startNx(ws, 'long', [POLL]);
    const deadline = Date.now() + 60_000;
    while ((first.out().match(/submitted as job/g) ?? []).length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await first.kill();
    // Nx runs the batch in a process of its own: kill it too, as a lost node or session would.
    const pid = activePid('long');
    process.kill(pid, 'SIGKILL');
    while (processAlive(pid)) await new Promise((r) => setTimeout(r, 50));
    const before = attempts('long');
    expect(before.map((a) => a.state).every((s) => ['pending', 'running'].includes(s)), JSON.stringify(before)).toBe(true);
    const ids = before.map((a) => a.job_id!).sort();
    expect(ids).toHaveLength(4);

    const second = runStages(ws, 'long', [POLL]);
    expect(second.status, second.out).toBe(0);
    expect((second.out.match(/re-attached to job \d+/g) ?? []).length).toBe(4);
    expect(second.out).not.toMatch(/submitted as job/);
    const after = attempts('long');
    expect(after.map((a) => [a.stage, a.attempt, a.state]).sort()).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 1, 'succeeded'],
      ['c', 1, 'succeeded'],
      ['d', 1, 'succeeded'],
    ]);
    expect(after.map((a) => a.job_id!).sort()).toEqual(ids);
    // c ran 6 s: the poller saw it running, and where.
    expect(after.find((a) => a.stage === 'c')!.nodes).toBe('vm');
    for (const s of ['a', 'b', 'c', 'd']) expect(readFile(ws, `results/long/outputs/out/${s}.txt`)).toBe(`${s}\n`);
  }, 120_000);

  itSlurm('refuses a second invocation of a running run, naming the first; cancel stops it and its jobs', async () => {
    writeFile(ws, 'pipelines/long/pipeline.yaml', `stages:\n${sleeper('a', 60, 'null')}${sleeper('b', 1, '[a]')}`);
    const first = startNx(ws, 'long', [POLL]);
    const deadline = Date.now() + 60_000;
    while ((first.out().match(/submitted as job/g) ?? []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const second = runStages(ws, 'long', [POLL]);
    expect(second.status).not.toBe(0);
    expect(second.out).toMatch(/run long is already being run by process \d+ on \S+ \(user \S+, since /);
    const cancel = campaign(ws, ['cancel', 'long']);
    expect(cancel.status, cancel.out).toBe(0);
    expect(cancel.out).toMatch(/sent SIGTERM to process \d+/);
    expect(await first.exited).not.toBe(0);
    const rows = attempts('long').filter((a) => a.attempt === 2);
    expect(rows.map((a) => [a.stage, a.state])).toEqual([
      ['a', 'cancelled'],
      ['b', 'cancelled'],
    ]);
    expect(await notCancelled(rows.map((a) => a.job_id!))).toEqual([]);
    for (const a of rows) expect(jobState(a.job_id!)).toBe('CANCELLED');
  }, 120_000);
});
