/**
 * The SLURM backend: every stage one sbatch job, sized by the plan, submitted parents first
 * with `--dependency=afterok` so SLURM starts each as soon as its inputs exist; one poller
 * follows them all (slurmBackend).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Attempt, Backend, Ended, Reattached, Report } from '../../engine/backend';
import { CampaignError } from '../../format/errors';
import { slurmMemory, slurmTime } from '../../format/quantities';
import { stageInvocation, type StageInvocation } from '../../model/command';
import type { Run } from '../../model/run';
import type { StagePlan } from '../../planning/plan-run';
import type { Site } from '../../sites/site';
import type { AttemptState } from '../../store/record';
import { stateDir, writeFileAtomic } from '../../store/stage-state';
import { FINISHED, hasAccounting, sacct, sbatch, scancel, squeue, stageState, updateDependency, type Exec, exec as realExec, type JobState, type StageState } from './commands';
import { renderSbatch, templateFor, type SbatchContext } from './template';

export interface SlurmOptions {
  wsRoot: string;
  dataDir: string;
  print: (line: string) => void;
  signal?: AbortSignal;
  /** Seconds between squeue calls while something changes; it backs off to 4x when nothing does. */
  pollSeconds: number;
  exec?: Exec;
}

export const DEFAULT_POLL_SECONDS = 5;
const TAIL_LINES = 30;
const SAFE_PATH = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where the job ids of a run's last submission are kept, for a later invocation. */
export const jobsFile = (dataDir: string, run: string) => join(stateDir(dataDir, run), 'slurm-jobs.json');

interface Tracked {
  state: StageState | 'waiting';
  exitFile: string;
  /** Polls that saw SLURM call it finished while its exit file was still absent. */
  missingExit: number;
  /** A failure its exit file reported, waiting for SLURM's verdict (out of memory?); polls since. */
  failed?: { ended: Ended; polls: number };
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
      mem: slurmMemory(sp.memoryMBPerNode),
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
    const sp = byName.get(name) ?? { name, pipeline: '', nodes: ['node'], cores: r.ranks * r.threads, memoryMBPerNode: r.memoryMBPerNode, start: 0, end: r.runtimeSeconds, walltimeSeconds: r.runtimeSeconds, qos: site.qos[0]?.name, critical: false, rank: 0, priority: 1 };
    const inv = stageInvocation(wsRoot, run, name);
    sbatchScript(wsRoot, site, run, sp, inv, inv.logFile.replace(/\.log$/, '.exit'));
  }
}

/**
 * SLURM as a backend. A job's wrapper writes "<exit code> <start> <end> <peak>" to
 * `<log_dir>/<stage>.exit`; that file says whether the command succeeded, and it is read every
 * second without asking SLURM. squeue (and sacct where accounting exists) is asked once per poll
 * interval for all live jobs, for the ones that ended without writing it (cancelled, timeout, out
 * of memory, node failure), those SLURM will never start, and SLURM's verdict on a failure (was
 * it out of memory?). The interval backs off to 4x while nothing changes.
 */
export function slurmBackend(opts: SlurmOptions): Backend {
  const exec = opts.exec ?? realExec;
  const jobs = new Map<string, Tracked>();
  /** First attempts' scripts, rendered by `check` before anything is recorded. */
  const rendered = new Map<string, string>();
  const base = opts.pollSeconds * 1000;
  let interval = base;
  let nextPoll = Date.now() + interval;
  let outage = 0;
  /** Whether sacct answers here; asked the first time a job leaves squeue's list. */
  let accounting: boolean | undefined;
  const stopped = new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
  const exitFileOf = (a: Attempt) => a.inv.logFile.replace(/\.log$/, '.exit');
  const script = (a: Attempt) => sbatchScript(opts.wsRoot, a.site!, a.run, { ...a.plan!, memoryMBPerNode: a.size.memoryMBPerNode, walltimeSeconds: a.size.walltimeSeconds }, a.inv, exitFileOf(a));

  /** The result the job's wrapper recorded. */
  const readExit = (a: Attempt, exitFile: string): Ended => {
    const [code, start, end, peak] = readFileSync(exitFile, 'utf8').trim().split(/\s+/).map(Number);
    return { exitCode: code, seconds: end - start, startedAt: new Date(start * 1000).toISOString(), peakMemoryMB: peak ? peak / 1e6 : undefined, where: `job ${a.jobId}, log: ${a.inv.logFile}`, output: tail(a.inv.logFile) };
  };

  return {
    name: 'slurm',
    submitsAhead: true,
    plans: true,
    largestNodeMB: (a) => Math.max(...a.site!.nodeClasses.map((c) => c.memoryMBPerNode)),
    check(attempts) {
      for (const a of attempts) rendered.set(a.key, script(a));
    },
    async submit(a, waitsOn, parentsFinal) {
      const text = (a.number === 1 && rendered.get(a.key)) || script(a);
      const exitFile = exitFileOf(a);
      rmSync(exitFile, { force: true });
      const scriptFile = a.inv.logFile.replace(/\.log$/, '.sbatch');
      mkdirSync(dirname(scriptFile), { recursive: true });
      writeFileSync(scriptFile, text, { mode: 0o755 });
      const deps = waitsOn.map((w) => w.jobId!);
      let jobId: string;
      try {
        // SLURM cancels a job whose parent failed, unless that parent may be retried (its children are then re-pointed).
        jobId = await sbatch(scriptFile, { dependsOn: deps, nice: a.plan!.priority - 1, killOnInvalidDep: parentsFinal }, exec);
      } catch (e) {
        throw e instanceof CampaignError ? new CampaignError(`${e.message}\n  script: ${scriptFile}`) : e;
      }
      jobs.set(a.key, { state: 'pending', missingExit: 0, exitFile });
      opts.print(`[${a.stage}] submitted as job ${jobId}${deps.length ? ` after ${deps.join(', ')}` : ''}`);
      return { state: 'pending', jobId, script: text, walltimeSeconds: a.size.walltimeSeconds };
    },
    async poll(active, wait) {
      if (wait) await Promise.race([new Promise((r) => setTimeout(r, 1000)), stopped]);
      const reports: Report[] = [];
      for (const a of active) {
        const t = jobs.get(a.key)!;
        if (t.failed || !existsSync(t.exitFile)) continue;
        const e = readExit(a, t.exitFile);
        if (e.exitCode === 0) reports.push({ attempt: a, ended: e });
        else {
          // SLURM knows whether the kernel killed it for memory: ask before deciding (and retrying).
          t.failed = { ended: e, polls: 0 };
          nextPoll = Date.now();
        }
      }
      const rest = active.filter((a) => !reports.some((r) => r.attempt === a));
      if (Date.now() < nextPoll || !rest.length) return reports;
      const ids = rest.map((a) => a.jobId!);
      let states: Map<string, JobState> | undefined;
      try {
        states = await squeue(ids, exec);
        if (outage) opts.print(`squeue answers again after ${outage} failed polls`);
        outage = 0;
      } catch (e) {
        if (opts.signal?.aborted || !(e instanceof CampaignError)) throw e;
        // The controller restarting is not a reason to drop the run: exit files keep coming.
        if (outage++ === 0) opts.print(`${e.message}; retrying every poll`);
      }
      let changed = false;
      if (states) {
        const gone = ids.filter((id) => !states.has(id));
        if (gone.length) accounting ??= await hasAccounting(exec);
        if (accounting && gone.length) for (const [id, s] of await sacct(gone, exec)) states.set(id, s);
        for (const a of rest) {
          const t = jobs.get(a.key)!;
          const s = states.get(a.jobId!);
          const state: StageState | 'vanished' = s ? stageState(s) : 'vanished';
          if (state !== t.state) {
            changed = true;
            if (state === 'running') opts.print(`[${a.stage}] running (job ${a.jobId})`);
            if (state === 'pending' || state === 'running' || state === 'held') reports.push({ attempt: a, state, nodes: s?.nodes });
          }
          const over = state === 'vanished' || FINISHED.has(state);
          if (t.failed) {
            // Its job has ended (or SLURM took 3 polls to say so): out of memory, timeout, or failed.
            if (over || ++t.failed.polls >= 3) reports.push({ attempt: a, ended: { ...t.failed.ended, state: state === 'out-of-memory' || state === 'timeout' ? state : undefined, output: tail(a.inv.logFile) } });
          } else if (state === 'pruned') {
            reports.push({ attempt: a, ended: { state: 'never-starts', why: `SLURM will never start job ${a.jobId} (DependencyNeverSatisfied)`, where: `job ${a.jobId}`, output: '' } });
          } else if (over && !existsSync(t.exitFile)) {
            // The wrapper writes its exit file before the job ends; give a shared file system one more poll.
            if (++t.missingExit >= 2 || state !== 'succeeded') {
              const ended = state === 'vanished' || state === 'succeeded' ? 'failed' : (state as 'failed' | 'cancelled' | 'timeout' | 'out-of-memory' | 'node-failure');
              reports.push({ attempt: a, ended: { state: ended, why: `job ${a.jobId} ${describe(state, s)} without recording an exit code`, where: `log: ${a.inv.logFile}`, output: tail(a.inv.logFile) } });
            }
          }
          if (state !== 'vanished') t.state = state;
        }
      }
      // Back off while SLURM reports no change; exit files are read every second regardless.
      interval = changed ? base : Math.min(interval * 1.5, base * 4);
      nextPoll = Date.now() + interval;
      return reports;
    },
    async cancel(attempts) {
      await scancel(attempts.flatMap((a) => a.jobId ?? []), exec);
    },
    async repoint(a, waitsOn) {
      await updateDependency(a.jobId!, waitsOn.map((w) => w.jobId!), exec);
    },
    async reattach(earlier) {
      const states = await squeue(earlier.map((e) => e.jobId), exec);
      const out = new Map<string, Reattached>();
      for (const { attempt: a, jobId } of earlier) {
        const s = states.get(jobId);
        const state = s && stageState(s);
        const live = state === 'pending' || state === 'running' || state === 'held' ? state : undefined;
        const exitFile = exitFileOf(a);
        if (live || existsSync(exitFile)) {
          // Follow the job already there instead of submitting it again.
          jobs.set(a.key, { state: state ?? 'pending', missingExit: 0, exitFile });
          opts.print(`[${a.stage}] re-attached to job ${jobId} (${state ?? 'pending'}), submitted by an earlier invocation`);
          out.set(a.key, { adopt: true, state: live, nodes: s?.nodes });
        } else {
          out.set(a.key, { adopt: false, state: (state as AttemptState | undefined) ?? 'cancelled', why: `job ${jobId} ended ${s ? s.state : 'and was forgotten by SLURM'} without an exit code while no nx process followed it; submitted again` });
        }
      }
      return out;
    },
    submittedAll(attempts) {
      const byRun = new Map<string, Record<string, string>>();
      for (const a of attempts) if (a.jobId) byRun.set(a.run.name, { ...byRun.get(a.run.name), [a.stage]: a.jobId });
      for (const [run, ids] of byRun) writeFileAtomic(jobsFile(opts.dataDir, run), `${JSON.stringify({ submitted: new Date().toISOString(), jobs: ids }, null, 2)}\n`);
    },
  };
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
