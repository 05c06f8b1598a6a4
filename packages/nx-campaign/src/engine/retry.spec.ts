import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../config/run';
import { DEFAULT_RETRY, mayRetry, retryPolicy, type RetryPolicy } from '../format/retries';
import type { StageInvocation } from '../model/command';
import type { StageResult } from '../store/result';
import { fixture, problemsOf } from '../testing/fixture';
import { FILE_SYSTEM_FULL } from '../util/disk';
import type { Backend, Ended } from './backend';
import { execute, prepare, resultOf } from './engine';
import { classOf, nextAttempt } from './retry';

const size = { memoryMBPerNode: 100, walltimeSeconds: 600 };
const failure = (r: Partial<StageResult>): StageResult => ({ status: 'failure', message: 'it failed', output: '', ...r });
const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ ...DEFAULT_RETRY, ...p });
const soFar = (all: number, infrastructure = 0) => ({ all, infrastructure });

describe('failure classes', () => {
  it('an exit code is science; memory and time resources; a node, a requeue, a cancel or a job lost without an exit code infrastructure', () => {
    expect(classOf('failed', 1)).toBe('science');
    expect(classOf(undefined, 3)).toBe('science');
    expect(classOf('out-of-memory', 137)).toBe('resources');
    expect(classOf('timeout', undefined)).toBe('resources');
    for (const s of ['node-failure', 'preempted', 'cancelled', 'interrupted'] as const) expect(classOf(s, undefined)).toBe('infrastructure');
    expect(classOf('failed', undefined)).toBe('infrastructure');
  });

  it('resultOf classes every failure, a backend may force the class, and an out-of-memory line in the log makes it resources', () => {
    const inv = { logFile: '/nonexistent-nx-campaign/log/s.log', cwd: '/nonexistent-nx-campaign/out', outputs: [], inputs: [] } as unknown as StageInvocation;
    expect(resultOf(inv, { exitCode: 2, where: 'here', output: '' })).toMatchObject({ status: 'failure', state: 'failed', failureClass: 'science' });
    expect(resultOf(inv, { exitCode: 1, where: 'here', output: 'MemoryError\n' })).toMatchObject({ state: 'out-of-memory', failureClass: 'resources' });
    expect(resultOf(inv, { state: 'node-failure', why: 'node failed', where: 'here', output: '' })).toMatchObject({ failureClass: 'infrastructure' });
    expect(resultOf(inv, { state: 'failed', why: 'controller unreachable', where: 'here', output: '', failureClass: 'infrastructure', exitCode: 1 })).toMatchObject({ failureClass: 'infrastructure' });
    expect(resultOf(inv, { exitCode: 0, where: 'here', output: '' })).toMatchObject({ status: 'success' });
    expect(resultOf(inv, { exitCode: 0, where: 'here', output: '' }).failureClass).toBeUndefined();
  });
});

describe('retries per class', () => {
  it('infrastructure failures have their own budget (3 by default) and leave count alone', () => {
    const p = policy({ count: 1 });
    const lost = failure({ state: 'node-failure' });
    expect(nextAttempt(p, soFar(0), lost, size, 1000)).toMatchObject({ retry: true, budget: 'infrastructure' });
    expect(nextAttempt(p, soFar(3, 3), lost, size, 1000)).toEqual({ retry: false, why: 'not retried: 3 infrastructure retries used' });
    // Three infrastructure retries spent, count is untouched: a science failure still gets its one.
    expect(nextAttempt(p, soFar(3, 3), failure({ state: 'failed', exitCode: 1 }), size, 1000)).toMatchObject({ retry: true, budget: 'count' });
    expect(nextAttempt(p, soFar(4, 3), failure({ state: 'failed', exitCode: 1 }), size, 1000)).toEqual({ retry: false, why: 'not retried: 1 retries used' });
    expect(nextAttempt(policy({ infrastructure: 0 }), soFar(0), lost, size, 1000)).toEqual({ retry: false, why: '' });
  });

  it('infrastructure: count makes them share count like any failure', () => {
    const p = policy({ count: 1, infrastructure: 'count' });
    const lost = failure({ state: 'preempted' });
    expect(nextAttempt(p, soFar(0), lost, size, 1000)).toMatchObject({ retry: true, budget: 'count' });
    expect(nextAttempt(p, soFar(1), lost, size, 1000)).toEqual({ retry: false, why: 'not retried: 1 retries used' });
    expect(nextAttempt(policy({ infrastructure: 'count' }), soFar(0), lost, size, 1000)).toEqual({ retry: false, why: '' });
  });

  it('resources and science use count; science honours never; resources grow', () => {
    const p = policy({ count: 2, never: [3] });
    expect(nextAttempt(p, soFar(0), failure({ state: 'out-of-memory', exitCode: 137 }), size, 1000)).toMatchObject({ retry: true, budget: 'count', memoryMBPerNode: 200 });
    expect(nextAttempt(p, soFar(0), failure({ state: 'timeout' }), size, 1000)).toMatchObject({ retry: true, budget: 'count', walltimeSeconds: 900 });
    expect(nextAttempt(p, soFar(0), failure({ state: 'failed', exitCode: 3 }), size, 1000)).toEqual({ retry: false, why: 'not retried: exit code 3 is in retries.never' });
    expect(nextAttempt(p, soFar(2), failure({ state: 'failed', exitCode: 1 }), size, 1000)).toEqual({ retry: false, why: 'not retried: 2 retries used' });
  });

  it('never retries a pre-flight failure, a full file system, or what was cancelled or interrupted', () => {
    const p = policy({ count: 5, infrastructure: 5 });
    expect(nextAttempt(p, soFar(0), failure({ failureClass: 'pre-flight', message: 'not submitted: sbatch refused' }), size, 1000)).toEqual({ retry: false, why: '' });
    expect(nextAttempt(p, soFar(0), failure({ state: 'failed', exitCode: 1, failureClass: 'infrastructure', message: `${FILE_SYSTEM_FULL}/x is on /x with 0 B free of 2.0 MiB` }), size, 1000)).toEqual({ retry: false, why: '' });
    expect(nextAttempt(p, soFar(0), failure({ state: 'cancelled' }), size, 1000)).toEqual({ retry: false, why: '' });
    expect(nextAttempt(p, soFar(0), failure({ state: 'interrupted' }), size, 1000)).toEqual({ retry: false, why: '' });
  });

  it('retries.infrastructure layers like the other keys; a stage may be retried when either budget allows', () => {
    expect(retryPolicy('s').infrastructure).toBe(3);
    expect(retryPolicy('s', { infrastructure: 'count' }, { stages: { s: { infrastructure: 7 } } }).infrastructure).toBe(7);
    expect(mayRetry(policy({}))).toBe(true);
    expect(mayRetry(policy({ infrastructure: 0 }))).toBe(false);
    expect(mayRetry(policy({ infrastructure: 'count', count: 1 }))).toBe(true);
  });

  it('a bad retries.infrastructure is an error at its line', () => {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  a:\n    executable: "true"\n    depends: null\n    resources: {memory: 100M, runtime: 1m}\n', 'runs/r.yaml': 'pipelines: p\nretries:\n  count: 1\n  infrastructure: all\n' });
    const [p] = problemsOf(() => loadRun(ws, 'runs/r.yaml'));
    expect(p).toMatchObject({ file: 'runs/r.yaml', line: 4, key: 'retries.infrastructure' });
    expect(p.message).toMatch(/^Must be an integer from 0 to 100 .* or "count"/);
  });
});

describe('the engine retries by class', () => {
  /** Stage `s`'s attempts end as `ends` says, one after the other; what the engine prints. */
  async function attemptsOf(retries: string, ends: Partial<Ended>[]): Promise<{ lines: string[]; result: StageResult }> {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  s:\n    executable: "true"\n    depends: null\n    resources: {memory: 100M, runtime: 1m}\n', 'runs/r.yaml': `pipelines: p\nretries: ${retries}\n` });
    const run = loadRun(ws, 'runs/r.yaml');
    const done: Ended[] = [];
    const live: string[] = [];
    const backend: Backend = {
      name: 'scripted',
      submitsAhead: false,
      plans: false,
      largestNodeMB: () => 1000,
      async submit(a) {
        live.push(a.key);
        done.push({ exitCode: 0, where: 'here', output: '', ...ends[a.number - 1] });
        return { state: 'running', jobId: String(a.number) };
      },
      async poll(active) {
        return active.map((attempt) => ({ attempt, ended: done[attempt.number - 1] }));
      },
      async cancel() {},
    };
    const lines: string[] = [];
    let result: StageResult | undefined;
    for await (const f of execute(prepare(ws, [{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], backend), { wsRoot: ws, dataDir: join(ws, '.nx'), print: (l) => lines.push(l) })) result = f.result;
    return { lines: lines.map((l) => l.replace(/^\[s\] job \d+ /, '')), result: result! };
  }

  it('infrastructure retries do not use up count, and say which budget they take', async () => {
    const node = { state: 'node-failure' as const, why: 'node n1 failed' };
    const r = await attemptsOf('{count: 1}', [node, node, { exitCode: 1 }, {}]);
    expect(r.lines).toEqual(['node n1 failed (here): infrastructure retry 1 of 3', 'node n1 failed (here): infrastructure retry 2 of 3', 'exited with code 1 (here): retry 1 of 1']);
    expect(r.result.status).toBe('success');
  });

  it('with infrastructure: count they share count', async () => {
    const r = await attemptsOf('{count: 1, infrastructure: count}', [{ state: 'node-failure', why: 'node n1 failed' }, { state: 'node-failure', why: 'node n1 failed' }]);
    expect(r.lines).toEqual(['node n1 failed (here): retry 1 of 1']);
    expect(r.result).toMatchObject({ status: 'failure', state: 'node-failure', failureClass: 'infrastructure', message: 'node n1 failed (here); not retried: 1 retries used' });
  });
});
