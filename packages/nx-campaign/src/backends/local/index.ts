import { availableParallelism, hostname, totalmem } from 'node:os';
import { CampaignError } from '../../format/errors';
import type { Run } from '../../model/run';
import { formatMemory } from '../../format/quantities';
import { remainingPathSeconds } from '../../graph/dag';
import { localArgv, stageInvocation, type StageInvocation } from '../../model/command';
import { coresOf } from '../../model/stage';
import { retryPolicy, type RetrySettings } from '../../format/retries';
import { RunEnds, runHook } from '../../engine/hooks';
import { nextAttempt, OOM_IN_LOG } from '../../engine/retry';
import type { AttemptLog } from '../../store/recorder';
import { isComplete, writeReceipt } from '../../store/stage-state';
import { UP_TO_DATE, type StageResult } from '../../store/result';
import { runStage } from './run-stage';
import { machinePool, schedule, type Capacity, type Pool, type Unit } from './schedule';

export interface LocalJob {
  run: Run;
  /** Stages to execute; their parents outside this list count as done. */
  stages: string[];
  /** Fingerprint per stage, recorded in its receipt. */
  fingerprints: Map<string, string>;
  /** Report a stage whose outputs on disk come from its current fingerprint as done, without running it. */
  reuseComplete: boolean;
  /** The `retries:` of the site the run belongs to (its own `retries:` wins). */
  siteRetries?: RetrySettings;
}

export interface LocalOptions {
  wsRoot: string;
  /** Nx's workspace-data folder, where receipts go. */
  dataDir: string;
  capacity?: Capacity;
  print: (line: string) => void;
  signal?: AbortSignal;
  /** Where attempts are recorded. */
  record?: AttemptLog;
}

export function machineCapacity(): Capacity {
  return { cores: availableParallelism(), memoryMB: Math.floor(totalmem() / 1e6) };
}

export const unitId = (run: string, stage: string) => `${run}/${stage}`;

/** How a pool-scheduled backend places and starts stages. */
export interface Placement {
  /** The backend's name, for the record. */
  backend: string;
  pool: Pool;
  /** Hosts a stage runs on. */
  hosts(run: Run, stage: string): string[];
  /** Higher starts first among ready stages. */
  priority(run: Run, stage: string): number;
  cores(run: Run, stage: string): number;
  /** Memory on each of its hosts, as first asked for; a retry may raise it. */
  memoryMBPerNode(run: Run, stage: string): number;
  /** The most memory an attempt may hold on one host. */
  largestNodeMB: number;
  /** The invocation as started there (e.g. under srun, holding `memoryMBPerNode`); default as it is. */
  launch?(run: Run, stage: string, inv: StageInvocation, memoryMBPerNode: number): StageInvocation;
}

/**
 * Run stages of one or more runs on this machine within its cores and memory.
 * Each run's pre_script goes before its first stage, its post_script after its last
 * one when all succeeded.
 */
export async function* runLocally(jobs: LocalJob[], opts: LocalOptions): AsyncGenerator<{ run: string; stage: string; result: StageResult }> {
  const machine = opts.capacity ?? machineCapacity();
  // ceci's site.max_threads caps the cores its runs take on this machine.
  const capacity = { ...machine, cores: Math.min(machine.cores, ...jobs.map(({ run }) => run.maxCores ?? machine.cores)) };
  const tooBig = jobs.flatMap(({ run, stages }) =>
    stages
      .map((s) => run.dag.stages.get(s)!)
      .filter((s) => coresOf(s.resources) > capacity.cores || s.resources.memoryMB > capacity.memoryMB)
      .map((s) => `${run.name}/${s.name} needs ${coresOf(s.resources)} cores and ${formatMemory(s.resources.memoryMB)}; this machine has ${capacity.cores} cores${capacity.cores < machine.cores ? ' (site.max_threads)' : ''} and ${formatMemory(capacity.memoryMB)}`),
  );
  if (tooBig.length) throw new CampaignError(`stages too large for this machine, nothing was run:\n  ${tooBig.join('\n  ')}\n  fix: lower their ranks, threads or memory, or run them on a cluster backend`);
  const priorities = new Map(jobs.map(({ run }) => [run.name, remainingPathSeconds(run.dag)]));
  const host = [hostname()];
  yield* runInPool(jobs, opts, {
    backend: 'local',
    pool: machinePool(capacity),
    hosts: () => host,
    priority: (run, stage) => priorities.get(run.name)!.get(stage)!,
    cores: (run, stage) => coresOf(run.dag.stages.get(stage)!.resources),
    memoryMBPerNode: (run, stage) => run.dag.stages.get(stage)!.resources.memoryMB,
    largestNodeMB: capacity.memoryMB,
    launch: (_run, _stage, inv) => ({ ...inv, argv: localArgv(inv) }),
  });
}

/**
 * Run stages as their parents succeed, as many at once as `placement`'s pool has room for. A
 * failed attempt is retried by the one policy (engine/retry.ts): one that ran out of memory
 * goes back to the queue with more, and starts when the pool has room for that.
 */
export async function* runInPool(jobs: LocalJob[], opts: LocalOptions, placement: Placement): AsyncGenerator<{ run: string; stage: string; result: StageResult }> {
  const units: Unit[] = [];
  const receipts: Promise<void>[] = [];
  let receiptError: Error | undefined;
  for (const job of jobs) {
    const { run } = job;
    let pre: Promise<StageResult | undefined> | undefined;
    const preScript = () => (pre ??= run.preScript ? runHook(opts, run, 'pre_script', run.preScript) : Promise.resolve(undefined));
    for (const name of job.stages) {
      const hosts = placement.hosts(run, name);
      const inv = stageInvocation(opts.wsRoot, run, name);
      const policy = retryPolicy(name, job.siteRetries, run.retries);
      const runtimeSeconds = run.dag.stages.get(name)!.resources.runtimeSeconds;
      let memoryMBPerNode = placement.memoryMBPerNode(run, name);
      let retries = 0;
      const unit: Unit = {
        id: unitId(run.name, name),
        label: jobs.length > 1 ? unitId(run.name, name) : name,
        deps: run.dag.parents.get(name)!.map((p) => unitId(run.name, p)),
        cores: placement.cores(run, name),
        memoryMB: memoryMBPerNode * hosts.length,
        priority: placement.priority(run, name),
        execute: async () => {
          const fingerprint = job.fingerprints.get(name) ?? '';
          if (retries === 0 && job.reuseComplete && isComplete(opts.dataDir, run.name, name, fingerprint)) return UP_TO_DATE;
          const hook = await preScript();
          if (hook && hook.status !== 'success') return { ...hook, message: `pre_script failed: ${hook.message}` };
          opts.record?.started(run, name, { backend: placement.backend, cores: unit.cores, memoryMB: memoryMBPerNode, nodes: hosts, logPath: inv.logFile, state: 'running' });
          let result = await runStage(placement.launch?.(run, name, inv, memoryMBPerNode) ?? inv, { refuseExisting: run.resume === 'refuse' && retries === 0, print: opts.print, signal: opts.signal });
          if (result.status === 'failure' && (result.state ?? 'failed') === 'failed' && OOM_IN_LOG.test(result.output)) result = { ...result, state: 'out-of-memory', message: `out of memory: ${result.message}` };
          if (result.status !== 'success' && !opts.signal?.aborted) {
            const next = nextAttempt(policy, retries, result, { memoryMBPerNode, walltimeSeconds: runtimeSeconds }, placement.largestNodeMB);
            if (!next.retry) return next.why ? { ...result, message: `${result.message}; ${next.why}` } : result;
            opts.record?.finished(run, name, result, placement.backend);
            retries++;
            const raised = next.memoryMBPerNode !== memoryMBPerNode;
            opts.print(`[${name}] ${raised ? next.why : result.message}: retry ${retries} of ${policy.count}`);
            if (raised) opts.record?.tune(run, name, { memoryMB: next.memoryMBPerNode });
            memoryMBPerNode = next.memoryMBPerNode;
            // Back to the queue, to start when the pool has room for its (new) size.
            return { retry: { memoryMB: memoryMBPerNode * hosts.length } };
          }
          // Written while the next stage starts; all are on disk before this generator ends.
          if (result.status === 'success') receipts.push(writeReceipt(opts.dataDir, run.name, name, fingerprint, inv.outputs.map((o) => o.final)).catch((e: Error) => void (receiptError ??= e)));
          return result;
        },
      };
      units.push(unit);
    }
  }
  const ends = new RunEnds(jobs, opts);
  for await (const { id, result } of schedule(units, placement.pool)) {
    const [runName, stage] = splitUnitId(id);
    yield { run: runName, stage, result: await ends.ended(runName, result) };
  }
  await Promise.all(receipts);
  if (receiptError) throw new CampaignError(`could not record a finished stage: ${receiptError.message}`);
}

function splitUnitId(id: string): [string, string] {
  const i = id.indexOf('/');
  return [id.slice(0, i), id.slice(i + 1)];
}
