import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../config/run';
import { fixture } from '../testing/fixture';
import type { Attempt, Backend, Ended, Report } from './backend';
import { execute, prepare, type EngineOptions, type Finished } from './engine';
import type { Stage } from '../model/stage';

/**
 * The engine against a backend that runs nothing: each attempt of a stage ends as `script`
 * says, after `ms`. It records what the engine asked of it.
 */
function scripted(opts: { submitsAhead: boolean; cores?: number; script?: Record<string, Partial<Ended>[]>; ms?: Record<string, number> }) {
  const log: string[] = [];
  let free = opts.cores ?? Infinity;
  let peak = 0;
  const ends = new Map<string, { at: number; ended: Ended }>();
  const backend: Backend = {
    name: 'scripted',
    submitsAhead: opts.submitsAhead,
    plans: false,
    largestNodeMB: () => 1000,
    claim(a) {
      if (a.size.cores > free) return false;
      free -= a.size.cores;
      peak = Math.max(peak, (opts.cores ?? 0) - free);
      return true;
    },
    release(a) {
      free += a.size.cores;
    },
    async submit(a: Attempt, waitsOn: Attempt[]) {
      log.push(`submit ${a.stage}#${a.number} ${a.size.memoryMBPerNode}M${waitsOn.length ? ` after ${waitsOn.map((w) => w.jobId).join(',')}` : ''}`);
      const e = opts.script?.[a.stage]?.[a.number - 1] ?? {};
      ends.set(a.key, { at: Date.now() + (opts.ms?.[a.stage] ?? 5), ended: { exitCode: 0, where: 'here', output: '', ...e } });
      return { state: 'running', jobId: `${a.stage}#${a.number}` };
    },
    async poll(active, wait) {
      if (wait) await new Promise((r) => setTimeout(r, 2));
      const out: Report[] = [];
      for (const a of active) {
        const e = ends.get(a.key)!;
        if (Date.now() >= e.at) out.push({ attempt: a, ended: e.ended });
      }
      return out;
    },
    async cancel(attempts) {
      log.push(`cancel ${attempts.map((a) => a.stage).join(',')}`);
    },
    async repoint(a, waitsOn) {
      log.push(`repoint ${a.stage} after ${waitsOn.map((w) => w.jobId).join(',')}`);
    },
  };
  return { backend, log, peak: () => peak };
}

const stage = (name: string, depends: string[], cores = 1, runtime = '1m') => `  ${name}:\n    executable: "true"\n    depends: [${depends.join(', ')}]\n    resources: {threads: ${cores}, memory: 100M, runtime: ${runtime}}\n`;

async function run(files: Record<string, string>, backend: Backend, signal?: AbortSignal, more: { checks?: Record<string, Stage['checks']>; accepted?: EngineOptions['accepted'] } = {}): Promise<Record<string, Finished['result']>> {
  const ws = fixture(files);
  const r = loadRun(ws, 'runs/r.yaml');
  for (const [name, checks] of Object.entries(more.checks ?? {})) r.dag.stages.get(name)!.checks = checks;
  const out: Record<string, Finished['result']> = {};
  for await (const f of execute(prepare(ws, [{ run: r, stages: r.stages, fingerprints: new Map(), reuseComplete: false }], backend), { wsRoot: ws, dataDir: join(ws, '.nx'), print: () => {}, signal, accepted: more.accepted })) out[f.stage] = f.result;
  return out;
}

describe('engine', () => {
  it('starts ready stages within the room the backend has, longest remaining path first, and skips only descendants of a failure', async () => {
    const b = scripted({ submitsAhead: false, cores: 3, script: { bad: [{ exitCode: 2 }] }, ms: { long: 20, short: 5 } });
    const pipeline = `stages:\n${stage('short', [])}${stage('long', [], 2, '10m')}${stage('bad', [])}${stage('afterbad', ['bad'])}${stage('afterafter', ['afterbad'])}${stage('afterlong', ['long'], 3, '10m')}`;
    const r = await run({ 'pipelines/p/pipeline.yaml': pipeline, 'runs/r.yaml': 'pipelines: p\n' }, b.backend);
    expect(b.peak()).toBeLessThanOrEqual(3);
    expect(b.log[0]).toBe('submit long#1 100M');
    expect(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.status]))).toEqual({ short: 'success', long: 'success', bad: 'failure', afterbad: 'skipped', afterafter: 'skipped', afterlong: 'success' });
    expect(r.afterafter.message).toBe('skipped: upstream stage bad failed');
    expect(r.bad.message).toBe('exited with code 2 (here)');
    expect(r.short.message).toBe('done (here)');
  });

  it('retries out of memory with more, back in the queue, and never an exit code in retries.never', async () => {
    const b = scripted({ submitsAhead: false, cores: 2, script: { hungry: [{ exitCode: 137, output: 'slurmstepd: error: Detected 1 oom-kill event' }, { exitCode: 0 }], picky: [{ exitCode: 3 }] } });
    const r = await run({ 'pipelines/p/pipeline.yaml': `stages:\n${stage('hungry', [])}${stage('fed', ['hungry'])}${stage('picky', [])}`, 'runs/r.yaml': 'pipelines: p\nretries: {count: 2, never: [3]}\n' }, b.backend);
    expect(b.log.filter((l) => l.startsWith('submit hungry'))).toEqual(['submit hungry#1 100M', 'submit hungry#2 200M']);
    expect(r.hungry.status).toBe('success');
    expect(r.fed.status).toBe('success');
    expect(r.picky.message).toBe('exited with code 3 (here); not retried: exit code 3 is in retries.never');
  });

  it('submits ahead parents first, each after its parents, and re-points the children of a retried parent', async () => {
    const b = scripted({ submitsAhead: true, script: { a: [{ state: 'timeout', why: 'timed out' }, { exitCode: 0 }] }, ms: { a: 10, b: 50, c: 50 } });
    const r = await run({ 'pipelines/p/pipeline.yaml': `stages:\n${stage('a', [])}${stage('b', ['a'])}${stage('c', ['a', 'b'])}`, 'runs/r.yaml': 'pipelines: p\nretries: {count: 1}\n' }, b.backend);
    expect(b.log).toEqual(['submit a#1 100M', 'submit b#1 100M after a#1', 'submit c#1 100M after a#1,b#1', 'submit a#2 100M', 'repoint b after a#2', 'repoint c after a#2,b#1']);
    expect(Object.values(r).map((x) => x.status)).toEqual(['success', 'success', 'success']);
  });

  it('on interrupt, cancels what is live and ends every stage not yet reported', async () => {
    const b = scripted({ submitsAhead: true, ms: { a: 60_000, b: 60_000 } });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 30);
    const r = await run({ 'pipelines/p/pipeline.yaml': `stages:\n${stage('a', [])}${stage('b', ['a'])}`, 'runs/r.yaml': 'pipelines: p\n' }, b.backend, abort.signal);
    expect(b.log.at(-1)).toBe('cancel a,b');
    expect(r.a).toMatchObject({ status: 'failure', state: 'cancelled', message: 'interrupted: job a#1 cancelled' });
    expect(r.b.status).toBe('failure');
  });

  it('submits a stage with checks before submission only after its parents ended, even ahead; a failed check submits nothing', async () => {
    const files = { 'pipelines/p/pipeline.yaml': `stages:\n${stage('a', [])}${stage('b', ['a'])}${stage('c', ['b'])}`, 'runs/r.yaml': 'pipelines: p\n' };
    const pass = { before: [{ kind: 'command' as const, what: 'graph', argv: ['true'] }] };
    const ok = scripted({ submitsAhead: true, ms: { a: 20 } });
    const r = await run(files, ok.backend, undefined, { checks: { b: pass } });
    expect(ok.log).toEqual(['submit a#1 100M', 'submit b#1 100M', 'submit c#1 100M after b#1']);
    expect(Object.values(r).map((x) => x.status)).toEqual(['success', 'success', 'success']);

    const bad = scripted({ submitsAhead: true });
    const fail = { before: [{ kind: 'command' as const, what: 'quantum graph', argv: ['sh', '-c', 'echo "No datasets of type raw"; exit 1'] }] };
    const r2 = await run(files, bad.backend, undefined, { checks: { b: fail } });
    expect(bad.log).toEqual(['submit a#1 100M']);
    expect(r2.b.status).toBe('failure');
    expect(r2.b.message).toMatch(/^pre-flight quantum graph failed, nothing submitted: No datasets of type raw\n  reproduce: sh -c 'echo "No datasets of type raw"; exit 1'\n  log: .*b\.quantum-graph\.log$/);
    expect(r2.c).toMatchObject({ status: 'skipped', message: 'skipped: upstream stage b failed' });
  });

  it('a review gate holds a stage until its step is accepted', async () => {
    const files = { 'pipelines/p/pipeline.yaml': `stages:\n${stage('a', [])}${stage('b', ['a'])}`, 'runs/r.yaml': 'pipelines: p\n' };
    const gate = { b: { before: [{ kind: 'accepted' as const, step: 'stepA' }] } };
    const held = await run(files, scripted({ submitsAhead: false }).backend, undefined, { checks: gate, accepted: () => undefined });
    expect(held.b).toMatchObject({ status: 'skipped', message: 'waiting for review: step stepA is not accepted yet; when its results are good: npx campaign accept r stepA' });
    const open = await run(files, scripted({ submitsAhead: false }).backend, undefined, { checks: gate, accepted: (run, step) => (run === 'r' && step === 'stepA' ? { by: 'me', at: 'now' } : undefined) });
    expect(open.b.status).toBe('success');
  });
});
