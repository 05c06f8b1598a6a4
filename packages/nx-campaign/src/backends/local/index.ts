import { availableParallelism, hostname, totalmem } from 'node:os';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from './process';
import { CampaignError } from '../../format/errors';
import type { Run } from '../../model/run';
import { formatMemory } from '../../format/quantities';
import { remainingPathSeconds } from '../../graph/dag';
import { absolutePath, localArgv, stageInvocation, type StageInvocation } from '../../model/command';
import { coresOf } from '../../model/stage';
import { notRetried, retryPolicy } from '../../format/retries';
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
  memoryMB(run: Run, stage: string): number;
  /** The invocation as started there (e.g. under srun); default as it is. */
  launch?(run: Run, stage: string, inv: StageInvocation): StageInvocation;
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
    memoryMB: (run, stage) => run.dag.stages.get(stage)!.resources.memoryMB,
    launch: (_run, _stage, inv) => ({ ...inv, argv: localArgv(inv) }),
  });
}

/** Run stages as their parents succeed, as many at once as `placement`'s pool has room for. */
export async function* runInPool(jobs: LocalJob[], opts: LocalOptions, placement: Placement): AsyncGenerator<{ run: string; stage: string; result: StageResult }> {
  const units: Unit[] = [];
  const receipts: Promise<void>[] = [];
  let receiptError: Error | undefined;
  const remaining = new Map<string, number>();
  for (const job of jobs) {
    const { run } = job;
    let pre: Promise<StageResult | undefined> | undefined;
    const preScript = () => (pre ??= run.preScript ? runHook(opts, run, 'pre_script', run.preScript) : Promise.resolve(undefined));
    remaining.set(run.name, job.stages.length);
    for (const name of job.stages) {
      units.push({
        id: unitId(run.name, name),
        label: jobs.length > 1 ? unitId(run.name, name) : name,
        deps: run.dag.parents.get(name)!.map((p) => unitId(run.name, p)),
        cores: placement.cores(run, name),
        memoryMB: placement.memoryMB(run, name),
        priority: placement.priority(run, name),
        execute: async () => {
          const fingerprint = job.fingerprints.get(name) ?? '';
          if (job.reuseComplete && isComplete(opts.dataDir, run.name, name, fingerprint)) {
            return UP_TO_DATE;
          }
          const hook = await preScript();
          if (hook && hook.status !== 'success') return { ...hook, message: `pre_script failed: ${hook.message}` };
          const inv = stageInvocation(opts.wsRoot, run, name);
          const policy = retryPolicy(name, run.retries);
          let result: StageResult;
          for (let retry = 0; ; retry++) {
            opts.record?.started(run, name, { backend: placement.backend, cores: placement.cores(run, name), memoryMB: placement.memoryMB(run, name), nodes: placement.hosts(run, name), logPath: inv.logFile, state: 'running' });
            result = await runStage(placement.launch?.(run, name, inv) ?? inv, { refuseExisting: run.resume === 'refuse' && retry === 0, print: opts.print, signal: opts.signal });
            if (result.status === 'success' || result.state === 'interrupted' || opts.signal?.aborted) break;
            const not = notRetried(policy, retry, result.exitCode);
            if (not !== undefined) {
              if (not) result = { ...result, message: `${result.message}; ${not}` };
              break;
            }
            opts.record?.finished(run, name, result, placement.backend);
            opts.print(`[${name}] ${result.message}: retry ${retry + 1} of ${policy.count}`);
          }
          // Written while the next stage starts; all are on disk before this generator ends.
          if (result.status === 'success') receipts.push(writeReceipt(opts.dataDir, run.name, name, fingerprint, inv.outputs.map((o) => o.final)).catch((e: Error) => void (receiptError ??= e)));
          return result;
        },
      });
    }
  }
  const failedRuns = new Set<string>();
  for await (const { id, result } of schedule(units, placement.pool)) {
    const [runName, stage] = splitUnitId(id);
    if (result.status !== 'success') failedRuns.add(runName);
    const left = remaining.get(runName)! - 1;
    remaining.set(runName, left);
    if (left === 0) {
      const run = jobs.find((j) => j.run.name === runName)!.run;
      if (run.postScript && !failedRuns.has(runName)) {
        const hook = await runHook(opts, run, 'post_script', run.postScript);
        if (hook.status !== 'success') {
          yield { run: runName, stage, result: { ...hook, message: `post_script failed after this stage: ${hook.message}` } };
          continue;
        }
      }
    }
    yield { run: runName, stage, result };
  }
  await Promise.all(receipts);
  if (receiptError) throw new CampaignError(`could not record a finished stage: ${receiptError.message}`);
}

function splitUnitId(id: string): [string, string] {
  const i = id.indexOf('/');
  return [id.slice(0, i), id.slice(i + 1)];
}

/** pre_script / post_script: a shell command the user wrote, run from the workspace root. */
export async function runHook(opts: { wsRoot: string; print: (line: string) => void; signal?: AbortSignal }, run: Run, which: string, command: string): Promise<StageResult> {
  const logDir = absolutePath(opts.wsRoot, run.logDir);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${which}.log`);
  const log = createWriteStream(logFile);
  const end = await runProcess(['sh', '-c', command], {
    cwd: opts.wsRoot,
    env: { NX_CAMPAIGN_RUN: run.name, NX_CAMPAIGN_OUTPUT_DIR: absolutePath(opts.wsRoot, run.outputDir), NX_CAMPAIGN_LOG_DIR: logDir },
    onLine: (line) => {
      log.write(`${line}\n`);
      opts.print(`[${run.name} ${which}] ${line}`);
    },
    signal: opts.signal,
  });
  await new Promise<void>((resolve) => log.end(() => resolve()));
  return end.code === 0
    ? { status: 'success', message: `${which} done`, output: '', logFile }
    : { status: 'failure', message: `${which} exited with code ${end.code ?? end.signal} (log: ${logFile})`, output: '', logFile };
}
