/**
 * Backends that start an attempt when it is ready and fits, as a process of this one: `local`
 * (this machine's cores and memory) and, with srun in front and a pool per host, `allocation`.
 */
import { availableParallelism, hostname, totalmem } from 'node:os';
import type { Attempt, Backend, Ended, Report } from '../../engine/backend';
import { execute, prepare, type EngineJob, type EngineOptions, type Finished } from '../../engine/engine';
import { CampaignError } from '../../format/errors';
import { formatMemory } from '../../format/quantities';
import { localArgv, type StageInvocation } from '../../model/command';
import type { Run } from '../../model/run';
import type { Site } from '../../sites/site';
import { Launcher, runAttempt } from './attempt';

export interface Capacity {
  cores: number;
  memoryMB: number;
}

/** Where attempts run: takes an attempt's cores and memory if they are free now, gives them back when it ends. */
export interface Pool {
  claim(a: Attempt): boolean;
  release(a: Attempt): void;
}

export function machineCapacity(): Capacity {
  return { cores: availableParallelism(), memoryMB: Math.floor(totalmem() / 1e6) };
}

/** One machine's cores and memory, shared by all attempts. */
export function machinePool(capacity: Capacity): Pool {
  const free = { ...capacity };
  const memory = (a: Attempt) => a.size.memoryMBPerNode * a.size.nodes;
  return {
    claim(a) {
      if (a.size.cores > free.cores || memory(a) > free.memoryMB) return false;
      free.cores -= a.size.cores;
      free.memoryMB -= memory(a);
      return true;
    },
    release(a) {
      free.cores += a.size.cores;
      free.memoryMB += memory(a);
    },
  };
}

export interface ProcessBackendSpec {
  name: string;
  pool: Pool;
  /** Hosts an attempt runs on, for the record. */
  hosts(a: Attempt): string[];
  largestNodeMB: number;
  /** The command as started here (e.g. under srun, holding the attempt's memory). */
  launch(a: Attempt): StageInvocation;
  planSite?: { site: Site; siteFrom: string };
  check?(attempts: Attempt[]): void;
  print: (line: string) => void;
  signal?: AbortSignal;
}

/** A backend whose attempts are processes of this one, started when the pool has room. */
export function processBackend(spec: ProcessBackendSpec): Backend {
  const running = new Map<string, { stopped: boolean; end: Promise<void> }>();
  const ended: Report[] = [];
  const aborted = new Promise<void>((resolve) => spec.signal?.addEventListener('abort', () => resolve(), { once: true }));
  let launcher: Launcher | undefined;
  return {
    name: spec.name,
    submitsAhead: false,
    plans: spec.planSite !== undefined,
    planSite: spec.planSite,
    check: spec.check,
    largestNodeMB: () => spec.largestNodeMB,
    claim: (a) => spec.pool.claim(a),
    release: (a) => spec.pool.release(a),
    async submit(a) {
      launcher ??= new Launcher();
      const r = { stopped: false, end: Promise.resolve() };
      r.end = runAttempt(launcher, a.key, spec.launch(a), a.stage, spec.print, () => r.stopped).then(
        (e: Ended) => void ended.push({ attempt: a, ended: e }),
        (e: Error) => void ended.push({ attempt: a, ended: { why: `internal error: ${e.message}`, where: `log: ${a.inv.logFile}`, output: String(e.stack) } }),
      );
      running.set(a.key, r);
      return { state: 'running', nodes: spec.hosts(a) };
    },
    async poll(active, wait) {
      if (wait && !ended.length) {
        const ends = active.flatMap((a) => running.get(a.key)?.end ?? []);
        await Promise.race(spec.signal?.aborted ? ends : [...ends, aborted]);
      }
      for (const r of ended) running.delete(r.attempt.key);
      return ended.splice(0);
    },
    async cancel(attempts) {
      for (const a of attempts) {
        const r = running.get(a.key);
        if (!r) continue;
        r.stopped = true;
        launcher!.stop(a.key);
      }
    },
    async close() {
      launcher?.close();
    },
  };
}

/** This machine: every stage at its declared size, within its cores (and ceci's site.max_threads) and memory. */
export function localBackend(runs: Run[], opts: { capacity?: Capacity; print: (line: string) => void; signal?: AbortSignal }): Backend {
  const machine = opts.capacity ?? machineCapacity();
  const capacity = { ...machine, cores: Math.min(machine.cores, ...runs.map((run) => run.maxCores ?? machine.cores)) };
  const host = [hostname()];
  return processBackend({
    name: 'local',
    pool: machinePool(capacity),
    hosts: () => host,
    largestNodeMB: capacity.memoryMB,
    launch: (a) => ({ ...a.inv, argv: localArgv(a.inv) }),
    check(attempts) {
      const tooBig = attempts
        .filter((a) => a.size.cores > capacity.cores || a.size.memoryMBPerNode > capacity.memoryMB)
        .map((a) => `${a.key} needs ${a.size.cores} cores and ${formatMemory(a.size.memoryMBPerNode)}; this machine has ${capacity.cores} cores${capacity.cores < machine.cores ? ' (site.max_threads)' : ''} and ${formatMemory(capacity.memoryMB)}`);
      if (tooBig.length) throw new CampaignError(`stages too large for this machine, nothing was run:\n  ${tooBig.join('\n  ')}\n  fix: lower their ranks, threads or memory, or run them on a cluster backend`);
    },
    print: opts.print,
    signal: opts.signal,
  });
}

/** Run `jobs` on this machine (prepare, then execute). */
export async function* runLocally(jobs: EngineJob[], opts: EngineOptions & { capacity?: Capacity }): AsyncGenerator<Finished> {
  yield* execute(prepare(opts.wsRoot, jobs, localBackend(jobs.map((j) => j.run), opts)), opts);
}
