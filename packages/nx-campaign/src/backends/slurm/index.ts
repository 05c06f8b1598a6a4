/**
 * The SLURM backend: every stage one sbatch job, sized by the plan, submitted parents first
 * with `--dependency=afterok` so SLURM starts each as soon as its inputs exist; one poller
 * follows them all.
 *
 * A job's wrapper writes "<exit code> <start> <end>" to `<log_dir>/<stage>.exit`; that file,
 * not SLURM's accounting, says whether the command succeeded, and it is read every second
 * without asking SLURM. squeue (and sacct where accounting exists) is asked once per poll
 * interval for all jobs, for the ones that ended without writing it (cancelled, timeout,
 * out of memory, node failure) and those SLURM will never start.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CampaignError } from '../../format/errors';
import { formatDuration, slurmMemory, slurmTime } from '../../format/quantities';
import { retryPolicy, type RetryPolicy } from '../../format/retries';
import { stageInvocation, type StageInvocation } from '../../model/command';
import type { Run } from '../../model/run';
import type { RunPlan, StagePlan } from '../../planning/plan-run';
import type { Site } from '../../sites/site';
import type { AttemptLog } from '../../store/recorder';
import { isComplete, stateDir, writeFileAtomic, writeReceipt } from '../../store/stage-state';
import { RunEnds, runHook } from '../../engine/hooks';
import { nextAttempt, OOM_IN_LOG, type NextAttempt } from '../../engine/retry';
import { prepareOutputs, settleFailedOutputs, settleOutputs } from '../local/run-stage';
import { UP_TO_DATE, type StageResult } from '../../store/result';
import type { AttemptState } from '../../store/record';
import { FINISHED, hasAccounting, sacct, sbatch, scancel, squeue, stageState, updateDependency, type Exec, exec as realExec, type JobState, type StageState } from './commands';
import { renderSbatch, templateFor, type SbatchContext } from './template';

export interface SlurmJob {
  run: Run;
  stages: string[];
  fingerprints: Map<string, string>;
  reuseComplete: boolean;
  plan: RunPlan;
}

export interface SlurmOptions {
  wsRoot: string;
  dataDir: string;
  print: (line: string) => void;
  signal?: AbortSignal;
  /** Seconds between squeue calls while something changes; it backs off to 4x when nothing does. */
  pollSeconds: number;
  /** On interrupt, leave submitted jobs running instead of cancelling them. */
  leaveRunning: boolean;
  exec?: Exec;
  /** Where attempts are recorded. */
  record?: AttemptLog;
}

export const DEFAULT_POLL_SECONDS = 5;
const TAIL_LINES = 30;
const SAFE_PATH = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where the job ids of a run's last submission are kept, for a later invocation. */
export const jobsFile = (dataDir: string, run: string) => join(stateDir(dataDir, run), 'slurm-jobs.json');

interface Unit {
  run: Run;
  job: SlurmJob;
  stage: string;
  inv: StageInvocation;
  plan: StagePlan;
  exitFile: string;
  jobId?: string;
  state: StageState | 'waiting';
  done: boolean;
  /** Polls that saw SLURM call it finished while its exit file was still absent. */
  missingExit: number;
  retry: RetryPolicy;
  retries: number;
  /** A failure its exit file reported, waiting for SLURM's verdict (out of memory?); polls since. */
  failed?: { result: StageResult; polls: number };
}

/** The sbatch script of one stage, from its template and its plan. */
export function sbatchScript(wsRoot: string, site: Site, run: Run, sp: StagePlan, inv: StageInvocation, exitFile: string): string {
  const name = inv.stage.name;
  for (const [what, path] of [['log_dir', dirname(inv.logFile)], ['output_dir', inv.cwd]] as const) {
    if (!SAFE_PATH.test(path)) throw new CampaignError(`${run.file}: ${what} ${path} has characters sbatch cannot take in #SBATCH lines\n  fix: use letters, digits and _ @ % + = : , . / - only`);
  }
  const badEnv = Object.keys(inv.env).filter((k) => !ENV_NAME.test(k));
  if (badEnv.length) throw new CampaignError(`${run.name}/${name}: environment variable name ${badEnv.join(', ')} is not a shell name\n  fix: use letters, digits and _, not starting with a digit`);
  const r = inv.stage.resources;
  const context: SbatchContext = {
    job: {
      name: `${run.name}.${name}`,
      comment: `nx-campaign:${run.name}`,
      nodes: sp.nodes.length,
      ntasks: r.ranks,
      cpusPerTask: r.threads,
      mem: slurmMemory(sp.memoryMB),
      time: slurmTime(sp.walltimeSeconds),
      partition: site.partition,
      qos: sp.qos,
      account: site.account,
      output: inv.logFile,
    },
    stage: { name, run: run.name, cwd: inv.cwd, argv: inv.argv, env: inv.env, outputs: inv.outputs, srun: r.ranks > 1, exitFile },
  };
  const t = templateFor(wsRoot, site.name, name);
  return renderSbatch(t.source, t.file, context);
}

/**
 * Render every stage's sbatch script once, so that a template mistake is found before anything
 * is recorded or submitted. `plans`: the run's plan; without one, each stage stands in as
 * planned on one node at its declared size.
 */
export function checkSbatchTemplates(wsRoot: string, site: Site, run: Run, plans?: StagePlan[]): void {
  const byName = new Map((plans ?? []).map((sp) => [sp.name, sp]));
  for (const name of run.stages) {
    const r = run.dag.stages.get(name)!.resources;
    const sp = byName.get(name) ?? { name, pipeline: '', nodes: ['node'], cores: r.ranks * r.threads, memoryMB: r.memoryMB, start: 0, end: r.runtimeSeconds, walltimeSeconds: r.runtimeSeconds, qos: site.qos[0]?.name, critical: false, rank: 0, priority: 1 };
    const inv = stageInvocation(wsRoot, run, name);
    sbatchScript(wsRoot, site, run, sp, inv, inv.logFile.replace(/\.log$/, '.exit'));
  }
}

/**
 * Submit the stages of `jobs` and report each as it ends. Each run's pre_script runs here
 * before its first submission, its post_script after its last stage when all succeeded.
 */
export async function* runOnSlurm(jobs: SlurmJob[], opts: SlurmOptions): AsyncGenerator<{ run: string; stage: string; result: StageResult }> {
  const exec = opts.exec ?? realExec;
  const results: { run: string; stage: string; result: StageResult }[] = [];
  const units = new Map<string, Unit>();
  const key = (run: string, stage: string) => `${run}/${stage}`;
  const ends = new RunEnds(jobs, opts);
  /** Hand out finished stages; after a run's last one, its post_script if all succeeded. */
  async function* flush(): AsyncGenerator<{ run: string; stage: string; result: StageResult }> {
    for (const r of results.splice(0)) yield { ...r, result: await ends.ended(r.run, r.result) };
  }
  const finish = (u: Unit, result: StageResult) => {
    if (u.done) return;
    u.done = true;
    results.push({ run: u.run.name, stage: u.stage, result });
  };

  // 0. Jobs an earlier invocation of the same run submitted and nobody followed to the end.
  const earlier = new Map<string, { jobId: string; attemptId: number }>();
  for (const job of jobs) for (const a of opts.record?.live(job.run) ?? []) if (job.stages.includes(a.stage)) earlier.set(key(job.run.name, a.stage), a);
  const earlierStates = earlier.size ? await squeue([...earlier.values()].map((a) => a.jobId), exec) : new Map<string, JobState>();
  const adopted: Unit[] = [];

  // 1. Up-to-date stages, pre_scripts, scripts; nothing is submitted before all scripts render.
  const scripts = new Map<Unit, string>();
  for (const job of jobs) {
    const { run } = job;
    const site = job.plan.settings.site;
    const planOf = new Map(job.plan.stages.map((sp) => [sp.name, sp]));
    const upToDate = new Set(job.reuseComplete ? job.stages.filter((s) => isComplete(opts.dataDir, run.name, s, job.fingerprints.get(s) ?? '')) : []);
    let hookFailed: StageResult | undefined;
    if (run.preScript && job.stages.some((s) => !upToDate.has(s) && !earlier.has(key(run.name, s)))) {
      const hook = await runHook(opts, run, 'pre_script', run.preScript);
      if (hook.status !== 'success') hookFailed = { ...hook, message: `pre_script failed: ${hook.message}` };
    }
    for (const stage of job.stages) {
      const inv = stageInvocation(opts.wsRoot, run, stage);
      const sp = planOf.get(stage);
      if (!sp) throw new CampaignError(`${run.name}/${stage} is not in the run's plan`);
      const u: Unit = { run, job, stage, inv, plan: sp, exitFile: inv.logFile.replace(/\.log$/, '.exit'), state: 'waiting', done: false, missingExit: 0, retry: retryPolicy(stage, site.retries, run.retries), retries: 0 };
      units.set(key(run.name, stage), u);
      const before = earlier.get(key(run.name, stage));
      const slurmSays = before && earlierStates.get(before.jobId);
      const liveThere = slurmSays && ['pending', 'running', 'held'].includes(stageState(slurmSays));
      if (upToDate.has(stage)) {
        finish(u, UP_TO_DATE);
      } else if (before && (liveThere || existsSync(u.exitFile))) {
        // Re-attach: follow the job already there instead of submitting it again.
        u.jobId = before.jobId;
        u.state = slurmSays ? (stageState(slurmSays) as StageState) : 'pending';
        opts.record?.adopt(run, stage, before.attemptId);
        if (slurmSays && liveThere) opts.record?.state(run, stage, u.state as AttemptState, slurmSays.nodes);
        adopted.push(u);
        opts.print(`[${stage}] re-attached to job ${u.jobId} (${u.state}), submitted by an earlier invocation`);
      } else if (hookFailed) {
        finish(u, hookFailed);
      } else {
        if (before) opts.record?.abandon(before.attemptId, slurmSays ? (stageState(slurmSays) as AttemptState) : 'cancelled', `job ${before.jobId} ended ${slurmSays ? slurmSays.state : 'and was forgotten by SLURM'} without an exit code while no nx process followed it; submitted again`);
        scripts.set(u, sbatchScript(opts.wsRoot, site, run, sp, inv, u.exitFile));
      }
    }
  }
  yield* flush();

  const parentsOf = (u: Unit) => u.run.dag.parents.get(u.stage)!.map((p) => units.get(key(u.run.name, p))).filter((p): p is Unit => p !== undefined);
  const childrenOf = (u: Unit) => u.run.dag.children.get(u.stage)!.map((c) => units.get(key(u.run.name, c))).filter((c): c is Unit => c !== undefined);
  /** A failed stage's pending descendants: cancelled (one scancel) and reported skipped. */
  const prune = async (failed: Unit) => {
    const ids: string[] = [];
    const walk = (u: Unit) => {
      for (const c of childrenOf(u)) {
        if (c.done) continue;
        if (c.jobId) ids.push(c.jobId);
        finish(c, { status: 'skipped', message: `skipped: ${failed.stage} failed${c.jobId ? ` (job ${c.jobId} cancelled)` : ''}`, output: '' });
        walk(c);
      }
    };
    walk(failed);
    await scancel(ids, exec);
  };

  const largestNodeMB = (u: Unit) => Math.max(...u.job.plan.settings.site.nodeClasses.map((c) => c.memoryMBPerNode));
  const submitted = async (u: Unit, script: string, killOnInvalidDep: boolean): Promise<string[]> => {
    rmSync(u.exitFile, { force: true });
    const scriptFile = u.inv.logFile.replace(/\.log$/, '.sbatch');
    mkdirSync(dirname(scriptFile), { recursive: true });
    writeFileSync(scriptFile, script, { mode: 0o755 });
    const deps = parentsOf(u).flatMap((p) => (p.jobId && !p.done ? [p.jobId] : []));
    u.jobId = await sbatch(scriptFile, { dependsOn: deps, nice: u.plan.priority - 1, killOnInvalidDep }, exec);
    u.state = 'pending';
    opts.record?.started(u.run, u.stage, { backend: 'slurm', jobId: u.jobId, script, cores: u.plan.cores, memoryMB: u.plan.memoryMB, walltimeSeconds: u.plan.walltimeSeconds, logPath: u.inv.logFile, state: 'pending' });
    return deps;
  };
  /** A failed attempt: submitted again (its pending children re-pointed to it), or final, pruning its descendants. */
  const fail = async (u: Unit, r: StageResult) => {
    const next: NextAttempt = aborted() ? { retry: false, why: '' } : nextAttempt(u.retry, u.retries, r, { memoryMBPerNode: u.plan.memoryMB, walltimeSeconds: u.plan.walltimeSeconds }, largestNodeMB(u));
    if (!next.retry) {
      finish(u, next.why ? { ...r, message: `${r.message}; ${next.why}` } : r);
      await prune(u);
      return;
    }
    opts.record?.finished(u.run, u.stage, r, 'slurm');
    if (next.memoryMBPerNode !== u.plan.memoryMB) opts.record?.tune(u.run, u.stage, { memoryMB: next.memoryMBPerNode });
    if (next.walltimeSeconds !== u.plan.walltimeSeconds) opts.record?.tune(u.run, u.stage, { walltimeSeconds: next.walltimeSeconds });
    u.plan = { ...u.plan, memoryMB: next.memoryMBPerNode, walltimeSeconds: next.walltimeSeconds };
    u.retries++;
    u.missingExit = 0;
    u.failed = undefined;
    const before = u.jobId;
    prepareOutputs(u.inv, false, producedLater);
    await submitted(u, sbatchScript(opts.wsRoot, u.job.plan.settings.site, u.run, u.plan, u.inv, u.exitFile), false);
    opts.print(`[${u.stage}] job ${before} ${next.why}: retry ${u.retries} of ${u.retry.count} as job ${u.jobId}`);
    for (const c of childrenOf(u)) {
      if (c.done || !c.jobId) continue;
      await updateDependency(c.jobId, parentsOf(c).flatMap((p) => (p.jobId && !p.done ? [p.jobId] : [])), exec);
    }
  };

  // 2. Submit parents first (topological order within each run), with afterok on their jobs.
  const saveIds = () => {
    for (const job of jobs) {
      const ids = Object.fromEntries(job.stages.flatMap((s) => { const u = units.get(key(job.run.name, s))!; return u.jobId ? [[s, u.jobId]] : []; }));
      if (Object.keys(ids).length) writeFileAtomic(jobsFile(opts.dataDir, job.run.name), `${JSON.stringify({ submitted: new Date().toISOString(), jobs: ids }, null, 2)}\n`);
    }
  };
  const producedLater = new Set([...scripts.keys(), ...adopted].flatMap((u) => u.inv.outputs.map((o) => o.final)));
  const live = () => [...units.values()].filter((u) => !u.done && u.jobId);
  /** Cancel (unless asked not to) every job not yet ended, and report every stage not yet reported. */
  const interrupt = async (why: string) => {
    const ids = live().map((u) => u.jobId!);
    if (!opts.leaveRunning) await scancel(ids, exec);
    for (const u of units.values()) {
      if (u.done) continue;
      if (u.jobId) settleFailedOutputs(u.inv);
      const what = !u.jobId ? 'not submitted' : opts.leaveRunning ? `job ${u.jobId} left running (ids in ${jobsFile(opts.dataDir, u.run.name)})` : `job ${u.jobId} cancelled`;
      // A job left running stays live in the record, for the next invocation to re-attach to.
      const state = !u.jobId ? 'interrupted' : opts.leaveRunning ? (u.state === 'waiting' ? 'pending' : u.state) : 'cancelled';
      finish(u, { status: 'failure', state, message: `${why}: ${what}`, output: '' });
    }
  };
  const aborted = () => opts.signal?.aborted === true;
  // Re-attached jobs that ended meanwhile: collected now, so their children depend on nothing or are pruned.
  for (const u of adopted) {
    if (!existsSync(u.exitFile)) continue;
    const result = readExit(u);
    if (result.status === 'success') {
      finish(u, result);
      await writeReceipt(opts.dataDir, u.run.name, u.stage, u.job.fingerprints.get(u.stage) ?? '', u.inv.outputs.map((o) => o.final));
    } else u.failed = { result, polls: 0 };
  }
  yield* flush();
  try {
    for (const [u, script] of scripts) {
      if (aborted()) break;
      if (u.done) continue; // pruned below a parent that could not be submitted
      const refused = prepareOutputs(u.inv, u.run.resume === 'refuse', producedLater);
      if (refused) {
        finish(u, { status: 'failure', message: refused, output: '' });
        await prune(u);
        continue;
      }
      let deps: string[];
      try {
        // SLURM cancels a job whose parent failed, unless that parent may be retried (its children are then re-pointed).
        deps = await submitted(u, script, parentsOf(u).every((p) => p.retry.count === 0));
      } catch (e) {
        if (aborted() || !(e instanceof CampaignError)) throw e;
        settleFailedOutputs(u.inv);
        finish(u, { status: 'failure', message: `not submitted: ${e.message}\n  script: ${u.inv.logFile.replace(/\.log$/, '.sbatch')}`, output: '' });
        await prune(u);
        continue;
      }
      opts.print(`[${u.stage}] submitted as job ${u.jobId}${deps.length ? ` after ${deps.join(', ')}` : ''}`);
    }
  } catch (e) {
    if (!aborted()) {
      await interrupt('submission stopped');
      throw e;
    }
  } finally {
    saveIds();
  }
  if (aborted()) await interrupt('interrupted');
  yield* flush();

  // 3. Follow them: exit files every second, SLURM every poll interval (backing off).
  const base = opts.pollSeconds * 1000;
  let interval = base;
  let nextPoll = Date.now() + interval;
  let outage = 0;
  /** Whether sacct answers here; asked the first time a job leaves squeue's list. */
  let accounting: boolean | undefined;
  const stopped = new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
  try {
    while (live().length) {
      if (aborted()) {
        await interrupt('interrupted');
        break;
      }
      for (const u of live()) {
        if (u.failed || !existsSync(u.exitFile)) continue;
        const result = readExit(u);
        if (result.status === 'success') {
          finish(u, result);
          await writeReceipt(opts.dataDir, u.run.name, u.stage, u.job.fingerprints.get(u.stage) ?? '', u.inv.outputs.map((o) => o.final));
        } else {
          // SLURM knows whether the kernel killed it for memory: ask before deciding (and retrying).
          u.failed = { result, polls: 0 };
          nextPoll = Date.now();
        }
      }
      if (Date.now() >= nextPoll && live().length) {
        const ids = live().map((u) => u.jobId!);
        let states: Map<string, JobState> | undefined;
        try {
          states = await squeue(ids, exec);
          if (outage) opts.print(`squeue answers again after ${outage} failed polls`);
          outage = 0;
        } catch (e) {
          if (aborted() || !(e instanceof CampaignError)) throw e;
          // The controller restarting is not a reason to drop the run: exit files keep coming.
          if (outage++ === 0) opts.print(`${e.message}; retrying every poll`);
        }
        let changed = false;
        if (states) {
          const gone = ids.filter((id) => !states.has(id));
          if (gone.length) accounting ??= await hasAccounting(exec);
          if (accounting && gone.length) for (const [id, s] of await sacct(gone, exec)) states.set(id, s);
          for (const u of live()) {
            const s = states.get(u.jobId!);
            const state: StageState | 'vanished' = s ? stageState(s) : 'vanished';
            if (state !== u.state) {
              changed = true;
              if (state === 'running' && u.state !== 'running') opts.print(`[${u.stage}] running (job ${u.jobId})`);
              if (state === 'pending' || state === 'running' || state === 'held') opts.record?.state(u.run, u.stage, state, s?.nodes);
            }
            if (u.failed) {
              // Its job has ended (or SLURM took 3 polls to say so): out of memory, timeout, or failed.
              if (state === 'vanished' || FINISHED.has(state) || ++u.failed.polls >= 3) {
                const oom = state === 'out-of-memory' || OOM_IN_LOG.test(tail(u.inv.logFile));
                const verdict: AttemptState = oom ? 'out-of-memory' : state === 'timeout' ? 'timeout' : 'failed';
                await fail(u, { ...u.failed.result, state: verdict, message: oom ? `out of memory: ${u.failed.result.message}` : u.failed.result.message });
              }
            } else if (state === 'pruned') {
              if (!parentsOf(u).every((p) => p.done)) continue; // a parent is being retried: it re-points this job
              await scancel([u.jobId!], exec);
              finish(u, { status: 'skipped', message: `skipped: SLURM will never start job ${u.jobId} (DependencyNeverSatisfied)`, output: '' });
            } else if ((state === 'vanished' || FINISHED.has(state)) && !existsSync(u.exitFile)) {
              // The wrapper writes its exit file before the job ends; give a shared file system one more poll.
              if (++u.missingExit >= 2 || state !== 'succeeded') {
                settleFailedOutputs(u.inv);
                const oom = state === 'out-of-memory' || OOM_IN_LOG.test(tail(u.inv.logFile));
                await fail(u, { status: 'failure', state: oom ? 'out-of-memory' : state === 'vanished' || state === 'succeeded' ? 'failed' : (state as AttemptState), message: `job ${u.jobId} ${describe(state, s)} without recording an exit code (log: ${u.inv.logFile})`, output: tail(u.inv.logFile), logFile: u.inv.logFile });
              }
            }
            if (state !== 'vanished') u.state = state;
          }
        }
        // Back off while SLURM reports no change; exit files are read every second regardless.
        interval = changed ? base : Math.min(interval * 1.5, base * 4);
        nextPoll = Date.now() + interval;
      }
      yield* flush();
      if (live().length) await Promise.race([new Promise((r) => setTimeout(r, 1000)), stopped]);
    }
  } catch (e) {
    await interrupt(aborted() ? 'interrupted' : 'tracking stopped');
    if (!aborted()) throw e;
  }
  yield* flush();
}

function describe(state: StageState | 'vanished', s?: JobState): string {
  if (state === 'vanished') return 'left the queue';
  if (state === 'succeeded') return 'completed';
  return `ended ${s?.state ?? state}${s?.reason && s.reason !== 'None' ? ` (${s.reason})` : ''}`;
}

function tail(logFile: string): string {
  if (!existsSync(logFile)) return '';
  const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-TAIL_LINES);
  return `--- last lines of ${logFile} ---\n${lines.join('\n')}\n`;
}

/** The result recorded by the job's wrapper. */
function readExit(u: Unit): StageResult {
  const [code, start, end, peak] = readFileSync(u.exitFile, 'utf8').trim().split(/\s+/).map(Number);
  const recorded = { seconds: end - start, exitCode: code, startedAt: new Date(start * 1000).toISOString(), logFile: u.inv.logFile, peakMemoryMB: peak ? peak / 1e6 : undefined };
  const where = `job ${u.jobId}, log: ${u.inv.logFile}`;
  if (code !== 0) {
    settleFailedOutputs(u.inv);
    return { ...recorded, status: 'failure', message: `exited with code ${code} (${where})`, output: tail(u.inv.logFile) };
  }
  const absent = settleOutputs(u.inv);
  if (absent.length) return { ...recorded, status: 'failure', message: `exited 0 but did not write ${absent.join(', ')} (${where})`, output: tail(u.inv.logFile) };
  return { ...recorded, status: 'success', message: `done in ${formatDuration(recorded.seconds)} (${where})`, output: '' };
}
