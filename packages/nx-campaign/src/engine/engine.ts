/**
 * The run of a set of stages on one backend, the same for every backend: dependency order, the
 * plan, retries by one policy (engine/retry.ts), pre/post scripts, the atomic-output protocol,
 * receipts, the record, results streamed as they end, interrupts and `--leaveRunning`.
 *
 * `prepare` plans and checks and writes nothing; `execute` runs what it prepared. A backend that
 * submits ahead (SLURM) gets every attempt at once, parents first, each waiting on its parents'
 * attempts; the others get an attempt when its parents succeeded and it fits, most urgent first.
 */
import { dirname } from 'node:path';
import { CampaignError } from '../format/errors';
import { formatDuration, formatElapsed } from '../format/quantities';
import { mayRetry, retryPolicy, type RetryPolicy, type RetrySettings } from '../format/retries';
import { remainingPathSeconds } from '../graph/dag';
import { stageInvocation, type StageInvocation } from '../model/command';
import { coresOf } from '../model/stage';
import type { Run } from '../model/run';
import { planRun, type PlanSettings, type StagePlan } from '../planning/plan-run';
import type { Site } from '../sites/site';
import { RecordBusy } from '../store/record';
import type { AttemptLog } from '../store/recorder';
import { UP_TO_DATE, type StageResult } from '../store/result';
import { FILE_SYSTEM_FULL, fileSystemFull } from '../util/disk';
import { isComplete, writeReceipt } from '../store/stage-state';
import { InfrastructureError, type Attempt, type AttemptSize, type Backend, type Ended, type Report } from './backend';
import { runChecks } from './checks';
import { RunEnds, runHook } from './hooks';
import { prepareOutputs, settleFailedOutputs, settleOutputs } from './outputs';
import { classOf, nextAttempt, OOM_IN_LOG } from './retry';

export interface EngineJob {
  run: Run;
  /** Stages to execute; their parents outside this list count as done. */
  stages: string[];
  /** Fingerprint per stage, recorded in its receipt. */
  fingerprints: Map<string, string>;
  /** Report a stage whose outputs on disk come from its current fingerprint as done, without running it. */
  reuseComplete: boolean;
  /** The run's site and how it was chosen: backends that plan plan over it. */
  settings?: PlanSettings;
  /** The `retries:` of the run's site (its own `retries:` wins); default: `settings`' site's. */
  siteRetries?: RetrySettings;
}

export interface EngineOptions {
  wsRoot: string;
  /** Nx's workspace-data folder, where receipts go. */
  dataDir: string;
  print: (line: string) => void;
  signal?: AbortSignal;
  record?: AttemptLog;
  /** On interrupt, leave submitted attempts running (backends that submit ahead): a later invocation re-attaches. */
  leaveRunning?: boolean;
  /** Who accepted a step of a run, for review gates (the record's reviews). */
  accepted?: (run: string, step: string) => { by: string; at: string } | undefined;
}

export interface Finished {
  run: string;
  stage: string;
  result: StageResult;
}

interface Unit {
  key: string;
  label: string;
  run: Run;
  stage: string;
  job: EngineJob;
  inv: StageInvocation;
  policy: RetryPolicy;
  /** As planned (or declared), then as escalated by retries. */
  size: AttemptSize;
  /** Higher starts first. */
  urgency: number;
  plan?: StagePlan;
  site?: Site;
  parents: Unit[];
  children: Unit[];
  retries: number;
  /** Of `retries`, those of infrastructure failures on their own budget (not counted in retries.count). */
  infrastructureRetries: number;
  attempt?: Attempt;
  done: boolean;
}

export interface Prepared {
  backend: Backend;
  jobs: EngineJob[];
  units: Unit[];
  /** Per run, the plan its stages were sized by; for a backend that does not plan, HEFT's over the run's site (for the record's planned bars). */
  plans: Map<string, Map<string, StagePlan>>;
}

/** Runs larger than this are not planned only to be recorded (a backend that does not plan runs them). */
const RECORD_PLAN_LIMIT = 2000;

/** Plan and size every stage of `jobs` for `backend`, and let it refuse what it cannot run. Writes nothing. */
export function prepare(wsRoot: string, jobs: EngineJob[], backend: Backend): Prepared {
  const units: Unit[] = [];
  const byKey = new Map<string, Unit>();
  const plans = new Map<string, Map<string, StagePlan>>();
  for (const job of jobs) {
    const { run } = job;
    const own = backend.planSite;
    const settings: PlanSettings | undefined = own ? { site: own.site, fullSite: own.site, siteFrom: own.siteFrom } : job.settings;
    if (backend.plans && !settings) throw new CampaignError(`${run.name}: the ${backend.name} backend needs the run's site`);
    const plan = backend.plans ? planByStage(wsRoot, run, settings!) : undefined;
    const recorded = plan ?? (settings && run.stages.length <= RECORD_PLAN_LIMIT ? planQuietly(wsRoot, run, settings) : undefined);
    if (recorded) plans.set(run.name, recorded);
    const remaining = plan ? undefined : remainingPathSeconds(run.dag);
    const wanted = new Set(job.stages);
    for (const stage of run.dag.order) {
      if (!wanted.has(stage)) continue;
      const r = run.dag.stages.get(stage)!.resources;
      const sp = plan?.get(stage);
      const u: Unit = {
        key: `${run.name}/${stage}`,
        label: jobs.length > 1 ? `${run.name}/${stage}` : stage,
        run,
        stage,
        job,
        inv: stageInvocation(wsRoot, run, stage),
        policy: retryPolicy(stage, job.siteRetries ?? job.settings?.site.retries, run.retries),
        size: sp ? { cores: sp.cores, nodes: sp.nodes.length, memoryMBPerNode: sp.memoryMBPerNode, walltimeSeconds: sp.walltimeSeconds } : { cores: coresOf(r), nodes: 1, memoryMBPerNode: r.memoryMBPerNode, walltimeSeconds: r.runtimeSeconds },
        urgency: sp ? -sp.priority : remaining!.get(stage)!,
        plan: sp,
        site: settings?.site,
        parents: [],
        children: [],
        retries: 0,
        infrastructureRetries: 0,
        done: false,
      };
      units.push(u);
      byKey.set(u.key, u);
    }
  }
  for (const u of units) {
    u.parents = u.run.dag.parents.get(u.stage)!.flatMap((p) => byKey.get(`${u.run.name}/${p}`) ?? []);
    for (const p of u.parents) p.children.push(u);
  }
  backend.check?.(units.map(attemptOf));
  return { backend, jobs, units, plans };
}

function planByStage(wsRoot: string, run: Run, settings: PlanSettings): Map<string, StagePlan> {
  return new Map(planRun(wsRoot, run, settings).stages.map((sp) => [sp.name, sp]));
}

/** A plan only to compare against: a stage the site cannot hold leaves the run unplanned, not failed. */
function planQuietly(wsRoot: string, run: Run, settings: PlanSettings): Map<string, StagePlan> | undefined {
  try {
    return planByStage(wsRoot, run, settings);
  } catch {
    return undefined;
  }
}

function attemptOf(u: Unit): Attempt {
  return { key: u.key, run: u.run, stage: u.stage, inv: u.inv, number: u.retries + 1, size: { ...u.size }, plan: u.plan, site: u.site };
}

/** Run what `prepare` made ready; each stage's result comes out as soon as it is known. */
export async function* execute(p: Prepared, opts: EngineOptions): AsyncGenerator<Finished> {
  const { backend, units } = p;
  const record = opts.record;
  const aborted = () => opts.signal?.aborted === true;
  const results: Finished[] = [];
  const ends = new RunEnds(p.jobs, opts);
  const active = new Map<string, Unit>();
  const ready: Unit[] = [];
  const receipts: Promise<void>[] = [];
  let receiptError: Error | undefined;
  const hooks = new Map<string, Promise<StageResult | undefined>>();
  const preScript = (run: Run) => {
    let h = hooks.get(run.name);
    if (!h) hooks.set(run.name, (h = run.preScript ? runHook(opts, run, 'pre_script', run.preScript) : Promise.resolve(undefined)));
    return h;
  };
  /** Outputs that attempts submitted ahead of their parents' end will find: not missing inputs. */
  const producedLater = new Set<string>();

  async function* flush(): AsyncGenerator<Finished> {
    for (const r of results.splice(0)) yield { ...r, result: await ends.ended(r.run, r.result) };
  }
  const finish = (u: Unit, result: StageResult) => {
    if (u.done) return;
    u.done = true;
    active.delete(u.key);
    results.push({ run: u.run.name, stage: u.stage, result });
  };
  /** A final failure: its descendants are skipped, and those already submitted cancelled. */
  const skipBelow = async (failed: Unit) => {
    const cancel: Attempt[] = [];
    const todo = [...failed.children];
    while (todo.length) {
      const c = todo.pop()!;
      if (c.done) continue;
      const a = c.attempt && active.has(c.key) ? c.attempt : undefined;
      if (a) cancel.push(a);
      finish(c, { status: 'skipped', message: `skipped: upstream stage ${failed.label} failed${a?.jobId ? ` (job ${a.jobId} cancelled)` : ''}`, output: '' });
      todo.push(...c.children);
    }
    if (cancel.length) await backend.cancel(cancel);
  };
  const becameReady = (u: Unit) => {
    if (!backend.submitsAhead) for (const c of u.children) if (!c.done && !c.attempt && c.parents.every((q) => q.done)) ready.push(c);
  };
  /**
   * Submitted ahead once its parents are submitted, or once they ended if it has checks before
   * submission (a quantum graph reads what its parents wrote).
   */
  const submittable = (u: Unit) => !u.done && !u.attempt && u.parents.every((q) => q.done || (q.attempt && !u.inv.checks.before.length));
  const submitAhead = async () => {
    for (const u of units) {
      if (aborted()) break;
      if (submittable(u)) await submit(u);
    }
  };

  /** Submit the unit's next attempt (`a`, when room was claimed for it); false if it could not be (and it is finished). */
  const submit = async (u: Unit, a = attemptOf(u)): Promise<boolean> => {
    const hook = await preScript(u.run);
    if (hook && hook.status !== 'success') {
      finish(u, { ...hook, message: `pre_script failed: ${hook.message}`, failureClass: 'pre-flight' });
      await skipBelow(u);
      return false;
    }
    if (u.inv.checks.before.length) {
      const f = await runChecks(u.inv, u.inv.checks.before, { wsRoot: opts.wsRoot, run: u.run.name, signal: opts.signal, accepted: opts.accepted });
      if (f) {
        finish(u, f.state === 'blocked' ? { status: 'skipped', message: f.message, output: '' } : { status: 'failure', state: 'failed', message: f.message, output: f.output, logFile: u.inv.logFile, failureClass: 'pre-flight' });
        await skipBelow(u);
        return false;
      }
    }
    let refused: StageResult | undefined;
    try {
      const why = prepareOutputs(u.inv, u.run.resume === 'refuse' && u.retries === 0, producedLater);
      if (why) refused = { status: 'failure', message: why, output: '', logFile: u.inv.logFile, failureClass: 'pre-flight' };
    } catch (e) {
      refused = noSpace(u.inv, e);
    }
    if (refused) {
      finish(u, refused);
      await skipBelow(u);
      return false;
    }
    const waitsOn = backend.submitsAhead ? u.parents.flatMap((q) => (!q.done && q.attempt ? [q.attempt] : [])) : [];
    let s;
    try {
      s = await backend.submit(a, waitsOn, u.retries === 0 && u.parents.every((q) => !mayRetry(q.policy)));
    } catch (e) {
      if (aborted() || !(e instanceof CampaignError)) throw e;
      settleFailedOutputs(u.inv);
      finish(u, { status: 'failure', message: `not submitted: ${e.message}`, output: '', logFile: u.inv.logFile, failureClass: e instanceof InfrastructureError ? 'infrastructure' : 'pre-flight' });
      await skipBelow(u);
      return false;
    }
    a.jobId = s.jobId;
    u.attempt = a;
    active.set(u.key, u);
    const st = u.run.dag.stages.get(u.stage)!;
    const declared = st.declared ?? st.resources;
    record?.started(u.run, u.stage, { backend: s.backend ?? backend.name, jobId: s.jobId, script: s.script, scriptDiff: s.scriptDiff, cores: a.size.cores, memoryMB: a.size.memoryMBPerNode, walltimeSeconds: s.walltimeSeconds, declared: { memoryMBPerNode: declared.memoryMBPerNode, runtimeSeconds: declared.runtimeSeconds }, nodes: s.nodes, logPath: u.inv.logFile, state: s.state });
    backend.recorded?.(a);
    return true;
  };

  /** A failed attempt: tried again, bigger if the policy says so, or final. */
  const failed = async (u: Unit, result: StageResult) => {
    const next = aborted() || backend.retriesItself?.(u.attempt!) ? { retry: false as const, why: '' } : nextAttempt(u.policy, { all: u.retries, infrastructure: u.infrastructureRetries }, result, u.size, backend.largestNodeMB(u.attempt!));
    if (!next.retry) {
      finish(u, next.why ? { ...result, message: `${result.message}; ${next.why}` } : result);
      await skipBelow(u);
      return;
    }
    record?.finished(u.run, u.stage, result, backend.name);
    const grew = next.memoryMBPerNode !== u.size.memoryMBPerNode || next.walltimeSeconds !== u.size.walltimeSeconds;
    if (next.memoryMBPerNode !== u.size.memoryMBPerNode) record?.tune(u.run, u.stage, { memoryMB: next.memoryMBPerNode });
    if (next.walltimeSeconds !== u.size.walltimeSeconds) record?.tune(u.run, u.stage, { walltimeSeconds: next.walltimeSeconds });
    const before = u.attempt!.jobId;
    u.size = { ...u.size, memoryMBPerNode: next.memoryMBPerNode, walltimeSeconds: next.walltimeSeconds };
    u.retries++;
    if (next.budget === 'infrastructure') u.infrastructureRetries++;
    u.attempt = undefined;
    const of = next.budget === 'infrastructure' ? `infrastructure retry ${u.infrastructureRetries} of ${u.policy.infrastructure}` : `retry ${u.retries - u.infrastructureRetries} of ${u.policy.count}`;
    const why = grew ? next.why : result.message;
    const line = (after: string) => opts.print(`[${u.label}] ${before && !why.includes(`job ${before}`) ? `job ${before} ` : ''}${why}: ${of}${after}`);
    if (!backend.submitsAhead) {
      line('');
      ready.push(u); // starts when there is room for its (new) size
      return;
    }
    if (!(await submit(u))) return;
    line(u.attempt!.jobId ? ` as job ${u.attempt!.jobId}` : '');
    for (const c of u.children) {
      if (c.done || !c.attempt || !backend.repoint) continue;
      await backend.repoint(c.attempt, c.parents.flatMap((q) => (!q.done && q.attempt ? [q.attempt] : [])));
    }
  };

  const handle = async (reports: Report[]) => {
    for (const r of reports) {
      const u = active.get(r.attempt.key);
      if (!u || u.attempt !== r.attempt) continue;
      if ('requeued' in r) {
        // The same job runs again: this attempt ended, the next is its new run (not a retry of ours).
        record?.finished(u.run, u.stage, { status: 'failure', state: r.requeued.state, message: `${r.requeued.why} (${r.requeued.where})`, output: '', logFile: u.inv.logFile, failureClass: 'infrastructure' }, backend.name);
        const next: Attempt = { ...r.attempt, number: r.attempt.number + 1 };
        u.attempt = next;
        record?.started(u.run, u.stage, foundStart(u, next, 'pending', `requeued by SLURM after attempt ${r.attempt.number} (${r.requeued.state})`));
        continue;
      }
      if (!('ended' in r)) {
        record?.state(u.run, u.stage, r.state, r.nodes, r.reason);
        continue;
      }
      if (r.ended.state === 'never-starts') {
        if (!u.parents.every((q) => q.done)) continue; // a parent is being retried: it re-points this one
        await backend.cancel([r.attempt]);
        finish(u, { status: 'skipped', message: `skipped: ${r.ended.why}`, output: '' });
        continue;
      }
      active.delete(u.key);
      backend.release?.(r.attempt);
      let result = resultOf(u.inv, r.ended);
      if (result.status === 'success' && u.inv.checks.after.length) {
        const f = await runChecks(u.inv, u.inv.checks.after, { wsRoot: opts.wsRoot, run: u.run.name, signal: opts.signal });
        if (f) result = { ...result, status: 'failure', state: 'failed', message: `${f.message} (${r.ended.where})`, failureClass: 'science' };
      }
      if (result.status !== 'success') {
        await failed(u, result);
        continue;
      }
      // Written while the next stage starts; all are on disk before this generator ends.
      receipts.push(writeReceipt(opts.dataDir, u.run.name, u.stage, u.job.fingerprints.get(u.stage) ?? '', u.inv.outputs.map((o) => o.final)).catch((e: Error) => void (receiptError ??= e)));
      finish(u, result);
      becameReady(u);
    }
  };

  /** Stop: cancel (unless left running) what is live, and end every stage not yet reported. */
  const interrupt = async (why: string, leave = opts.leaveRunning === true) => {
    const live = [...active.values()];
    if (backend.submitsAhead) {
      if (!leave) await backend.cancel(live.map((u) => u.attempt!));
      for (const u of live) {
        const jobId = u.attempt!.jobId;
        if (!leave) settleFailedOutputs(u.inv);
        // One left running stays live in the record, for the next invocation to re-attach to.
        finish(u, { status: 'failure', state: leave ? 'pending' : 'cancelled', message: `${why}: ${leave ? `job ${jobId} left running` : `job ${jobId} cancelled`}`, output: '' });
      }
    } else {
      await backend.cancel(live.map((u) => u.attempt!));
      while (active.size) await handle(await backend.poll([...active.values()].map((u) => u.attempt!), true));
    }
    for (const u of units) if (!u.done) finish(u, { status: 'failure', state: 'interrupted', message: `${why}: not ${backend.submitsAhead ? 'submitted' : 'started'}`, output: '' });
  };

  /** The record's start of an attempt this invocation did not submit (a job requeued, or found in the backend). */
  const foundStart = (u: Unit, a: Attempt, state: 'pending' | 'running' | 'held', reason: string) =>
    ({ backend: backend.name, jobId: a.jobId, cores: a.size.cores, memoryMB: a.size.memoryMBPerNode, walltimeSeconds: a.size.walltimeSeconds, logPath: u.inv.logFile, state, reason });

  for (const u of units) if (u.job.reuseComplete && isComplete(opts.dataDir, u.run.name, u.stage, u.job.fingerprints.get(u.stage) ?? '')) finish(u, UP_TO_DATE);

  // Attempts an earlier invocation left live and nobody followed to the end, and jobs it submitted
  // but never recorded (the backend finds them): followed again, or submitted anew.
  if (backend.reattach && record) {
    const open = units.filter((u) => !u.done);
    const live = new Map(p.jobs.flatMap((j) => record.live(j.run).map((e): [string, (typeof e)] => [`${j.run.name}/${e.stage}`, e])));
    const known = new Set(p.jobs.flatMap((j) => [...record.jobIds(j.run)]));
    const earlier = open.map((u) => ({ u, attempt: attemptOf(u), e: live.get(u.key) }));
    if (open.length && (live.size || backend.submitsAhead)) {
      const verdicts = await backend.reattach(earlier.map(({ attempt, e }) => ({ attempt, jobId: e?.jobId })), known);
      for (const { u, attempt, e } of earlier) {
        const v = verdicts.get(u.key);
        if (!v) continue;
        if (!v.adopt) {
          if (e) record.abandon(e.attemptId, v.state, v.why);
          continue;
        }
        attempt.jobId = v.jobId;
        u.attempt = attempt;
        active.set(u.key, u);
        if (v.unrecorded) record.started(u.run, u.stage, foundStart(u, attempt, v.state ?? 'pending', 'submitted by an invocation that stopped before recording it; found by its job comment'));
        else record.adopt(u.run, u.stage, e!.attemptId);
        if (v.state) record.state(u.run, u.stage, v.state, v.nodes, v.reason);
      }
    }
  }
  if (backend.submitsAhead) for (const u of units) if (!u.done) for (const o of u.inv.outputs) producedLater.add(o.final);
  yield* flush();

  try {
    // Re-attached attempts that ended meanwhile: collected first, so their children wait on nothing or are skipped.
    if (active.size) await handle(await backend.poll([...active.values()].map((u) => u.attempt!), false));
    yield* flush();
    if (backend.submitsAhead) {
      try {
        await submitAhead();
      } finally {
        backend.submittedAll?.(units.flatMap((u) => u.attempt ?? []));
      }
    } else {
      for (const u of units) if (!u.done && !u.attempt && u.parents.every((q) => q.done)) ready.push(u);
    }
    yield* flush();

    while (active.size || ready.length) {
      if (aborted()) {
        await interrupt('interrupted');
        break;
      }
      if (ready.length) {
        ready.sort((a, b) => b.urgency - a.urgency);
        for (let i = 0; i < ready.length; ) {
          const u = ready[i];
          // Listed twice (ready when a re-attached parent ended, and again at the start): started once.
          if (u.done || u.attempt) ready.splice(i, 1);
          else {
            const a = attemptOf(u);
            if (backend.claim && !backend.claim(a)) {
              i++;
              continue;
            }
            ready.splice(i, 1);
            if (!(await submit(u, a))) backend.release?.(a);
          }
        }
        yield* flush();
      }
      if (!active.size) {
        if (ready.some((u) => !u.done)) throw new CampaignError(`${ready[0].key} can never fit on the ${backend.name} backend`);
        break;
      }
      await handle(await backend.poll([...active.values()].map((u) => u.attempt!), true));
      if (backend.submitsAhead) await submitAhead();
      yield* flush();
    }
  } catch (e) {
    // A record that stays locked cannot take the cancellations: the jobs are left for the next invocation.
    const busy = e instanceof RecordBusy;
    await interrupt(aborted() ? 'interrupted' : busy ? 'the record stayed locked' : 'tracking stopped', busy || undefined);
    yield* flush();
    if (!aborted()) throw e;
  } finally {
    await backend.close?.();
  }
  yield* flush();
  await Promise.all(receipts);
  if (receiptError) throw new CampaignError(`could not record a finished stage: ${receiptError.message}`);
}

/** The folders a stage writes: its log's, its working folder, its outputs'. */
function foldersOf(inv: StageInvocation): string[] {
  return [dirname(inv.logFile), inv.cwd, ...inv.outputs.map((o) => dirname(o.final))];
}

/** A failure as the result of a full file system when one of the stage's folders is on one: infrastructure, never retried. */
function unlessFull(inv: StageInvocation, r: StageResult): StageResult {
  const full = fileSystemFull(foldersOf(inv));
  if (!full) return r;
  const [what, fix] = full.split('\n');
  return { ...r, message: `${what}; ${r.message}\n${fix}`, failureClass: 'infrastructure' };
}

/** Our own write into a stage's folders (its log, outputs) failed for want of space: the stage's failure, not a crash. */
function noSpace(inv: StageInvocation, e: unknown): StageResult {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
  const message = fileSystemFull(foldersOf(inv)) ?? `${FILE_SYSTEM_FULL}${(e as Error).message}\n  fix: free space there and run again`;
  return { status: 'failure', message, output: '', logFile: inv.logFile, failureClass: 'infrastructure' };
}

/** An attempt's end as a result: its outputs settled (engine/outputs.ts), out of memory told apart by its log, a full file system by its folders. */
export function resultOf(inv: StageInvocation, e: Ended): StageResult {
  const recorded = { seconds: e.seconds, exitCode: e.exitCode, startedAt: e.startedAt, peakMemoryMB: e.peakMemoryMB, logFile: inv.logFile };
  if (e.exitCode === 0 && !e.state) {
    const absent = settleOutputs(inv);
    if (absent.length) return unlessFull(inv, { ...recorded, status: 'failure', state: 'failed', message: `exited 0 but did not write ${absent.join(', ')} (${e.where})`, output: e.output, failureClass: 'science' });
    // Whole seconds come from clocks that tell no finer (a SLURM job's exit file): no false tenths.
    const took = e.seconds === undefined ? '' : ` in ${Number.isInteger(e.seconds) ? formatDuration(e.seconds) : formatElapsed(e.seconds)}`;
    return { ...recorded, status: 'success', message: `done${took} (${e.where})`, output: '' };
  }
  settleFailedOutputs(inv);
  let state = e.state === 'never-starts' ? 'failed' : (e.state ?? 'failed');
  if (state === 'failed' && OOM_IN_LOG.test(e.output)) state = 'out-of-memory';
  const why = e.why ?? `exited with code ${e.exitCode}`;
  return unlessFull(inv, { ...recorded, status: 'failure', state, message: `${state === 'out-of-memory' ? 'out of memory: ' : ''}${why} (${e.where})`, output: e.output, failureClass: e.failureClass ?? classOf(state, e.exitCode) });
}
