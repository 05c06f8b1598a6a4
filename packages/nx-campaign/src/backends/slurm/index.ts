/**
 * The SLURM backend: every stage one sbatch job, sized by the plan, submitted parents first
 * with `--dependency=afterok` so SLURM starts each as soon as its inputs exist; one poller
 * follows them all (slurmBackend).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { settleFailedOutputs } from '../../engine/outputs';
import { InfrastructureError, type Attempt, type Backend, type Ended, type Reattached, type Report } from '../../engine/backend';
import { CampaignError } from '../../format/errors';
import { slurmMemory, slurmTime } from '../../format/quantities';
import { stageInvocation, type StageInvocation } from '../../model/command';
import type { Run } from '../../model/run';
import type { StagePlan } from '../../planning/plan-run';
import type { Site } from '../../sites/site';
import type { AttemptState } from '../../store/record';
import { stateDir, writeFileAtomic } from '../../store/stage-state';
import { fileSystemFull } from '../../util/disk';
import { ControllerUnreachable, excludeNodes, FINISHED, freePartitions, hasAccounting, nodeStates, release, sacct, sbatch, scancel, squeue, squeueMarked, stageState, updateDependency, type Exec, exec as realExec, type JobState, type StageState } from './commands';
import { renderSbatch, templateFor, type SbatchContext } from './template';

export interface SlurmOptions {
  wsRoot: string;
  dataDir: string;
  print: (line: string) => void;
  signal?: AbortSignal;
  /** Seconds between squeue calls while something changes; it backs off to 4x when nothing does. */
  pollSeconds: number;
  exec?: Exec;
  /** How long a submission waits for a controller that does not answer before the stage fails (default 1 h). */
  outageSeconds?: number;
}

export const DEFAULT_POLL_SECONDS = 5;
const TAIL_LINES = 30;
const SAFE_PATH = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** squeue's reason for a job SLURM requeued and held because its node could not launch it. */
const LAUNCH_FAILED = /launch failed requeued held/i;
/** Pending reasons that only say the job waits its turn: not worth a line. */
const ORDINARY_WAIT = new Set(['None', 'Dependency', 'Priority', 'Resources', 'BeginTime']);
/** Pending reasons that mean no node of the job's partitions can take it now (drained, down, the partition down). */
const NO_NODE = /ReqNodeNotAvail|Nodes required for job are|PartitionDown|PartitionInactive|NodeDown/;
/** sinfo states of a node that lost its jobs (`*`: not responding). */
const NODE_LOST = /down|drain|fail|\*$/i;

/**
 * The comment every job of a run carries, `nx-campaign:<workspace>:<run>/<stage>`: how a job that
 * an invocation submitted, and stopped before recording, is found again.
 */
export function jobMarker(wsRoot: string, run: string, stage: string): string {
  return `${workspaceMarker(wsRoot)}${run}/${stage}`;
}

const markers = new Map<string, string>();
/** `nx-campaign:<workspace>:`, the start of every job comment of the workspace (hashed once per workspace). */
function workspaceMarker(wsRoot: string): string {
  let m = markers.get(wsRoot);
  if (!m) markers.set(wsRoot, (m = `nx-campaign:${createHash('sha256').update(realpathSync(wsRoot)).digest('hex').slice(0, 8)}:`));
  return m;
}

/** Where the job ids of a run's last submission are kept, for a later invocation. */
export const jobsFile = (dataDir: string, run: string) => join(stateDir(dataDir, run), 'slurm-jobs.json');

interface Tracked {
  jobId: string;
  state: StageState | 'waiting';
  /** SLURM's requeue count this attempt runs under: an exit file written by an earlier run of the job is not its end. */
  restarts: number;
  nodes?: string;
  reason?: string;
  exitFile: string;
  /** Polls that saw SLURM call it finished while its exit file was still absent. */
  missingExit: number;
  /** A failure its exit file reported, waiting for SLURM's verdict (out of memory?); polls since. */
  failed?: { ended: Ended; polls: number };
  /** Polls that saw its job requeued without yet knowing why (see `requeued`). */
  requeueLooks?: number;
  /** Times a job SLURM held after its launch failed was released. */
  releases?: number;
  /** Parents whose jobs the controller lost before they ended: held until each is submitted again or found done. */
  lostParents?: Attempt[];
  /** Its job's comment (jobMarker). */
  marker: string;
  /** The attempts its job waits on (afterok). */
  waitsOn: Attempt[];
  /** Ended well by its exit file, while SLURM had not yet said the job ended: see `ghosts`. */
  unsettled?: boolean;
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
      comment: jobMarker(wsRoot, run.name, name),
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
 * SLURM as a backend. A job's wrapper writes "<exit code> <start> <end> <peak> <job> <restarts>
 * <seconds>" to `<log_dir>/<stage>.exit`; that file says whether the command succeeded, and it is
 * read every second without asking SLURM. squeue (and sacct where accounting exists) is asked once
 * per poll interval for all live jobs: for the ones that ended without writing it (cancelled,
 * timeout, out of memory, node failure), those SLURM requeued (a new attempt under the same id),
 * those it will never start, why pending ones wait, and SLURM's verdict on a failure (was it out
 * of memory?). The interval backs off to 4x while nothing changes. A controller that does not
 * answer stops nothing: polls go on failing, submissions wait for it with back-off, and a
 * submission whose answer was lost is found again by its comment (jobMarker) before it is repeated.
 */
export function slurmBackend(opts: SlurmOptions): Backend {
  const exec = opts.exec ?? realExec;
  const jobs = new Map<string, Tracked>();
  /** First attempts' scripts, rendered by `check` before anything is recorded. */
  const rendered = new Map<string, string>();
  /** Per stage, hosts that failed under one of its attempts: later attempts avoid them where the site has others. */
  const excluded = new Map<string, Set<string>>();
  const base = opts.pollSeconds * 1000;
  let interval = base;
  let nextPoll = Date.now() + interval;
  let outage = 0;
  /** Whether sacct answers here; asked the first time a job leaves squeue's list. */
  let accounting: boolean | undefined;
  /** Partition lists already told of others that could run their jobs. */
  const toldPartitions = new Set<string>();
  const stopped = new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
  const sleep = (ms: number) => Promise.race([new Promise((r) => setTimeout(r, ms)), stopped]);
  const exitFileOf = (a: Attempt) => a.inv.logFile.replace(/\.log$/, '.exit');
  /** The fields of `a`'s exit file (code start end peak job restarts seconds); [] while there is none. */
  const exitFields = (a: Attempt): string[] => (existsSync(exitFileOf(a)) ? readFileSync(exitFileOf(a), 'utf8').trim().split(/\s+/) : []);
  const markerOf = (a: Attempt) => jobMarker(opts.wsRoot, a.run.name, a.stage);
  /** Whether `a`'s job wrote a 0 exit code (whatever the controller remembers of it). */
  const endedWell = (a: Attempt) => {
    const [code, , , , job] = exitFields(a);
    return code === '0' && job === a.jobId;
  };
  /** Lets `a`'s job start once no parent the controller lost is still to be submitted again or found done. */
  const releaseIfFound = async (a: Attempt, t: Tracked) => {
    t.lostParents = t.lostParents?.filter((w) => jobs.get(w.key)?.jobId === w.jobId && !endedWell(w));
    if (t.lostParents?.length !== 0) return;
    t.lostParents = undefined;
    await answered(`releasing job ${t.jobId}`, () => release(t.jobId, exec));
  };
  /**
   * Said once per partition list: partitions the job was not submitted to that are up with free
   * nodes, and the site setting that lets SLURM use them. The run goes on waiting.
   */
  const otherPartitions = async (a: Attempt, s: JobState) => {
    const mine = s.partition ?? a.site!.partition;
    if (!mine || toldPartitions.has(mine)) return;
    toldPartitions.add(mine);
    const free = await freePartitions(mine.split(','), exec).catch(() => new Map<string, number>());
    if (!free.size) return;
    const list = [...free].map(([p, n]) => `${p} (${n} node${n === 1 ? '' : 's'} free)`).join(', ');
    opts.print(`[${a.stage}] no node of partition ${mine} can start job ${a.jobId}, but ${list} ${free.size === 1 ? 'is' : 'are'} up; the run waits\n  fix: to let SLURM use ${free.size === 1 ? 'it' : 'them'}, set partition: ${[mine, ...free.keys()].join(',')} for site ${a.site!.name} in sites.yaml`);
  };
  /**
   * Jobs whose exit files said they ended well, against what SLURM now says of them. A controller
   * restarted from save files older than their end queues them again (PENDING, or held after a
   * "Duplicate jobid" launch failure): their children stop waiting on them, and they are cancelled.
   * Settled once SLURM calls one ended, or forgets it.
   */
  const ghosts = async (ended: Tracked[], states: Map<string, JobState>, waiting: Attempt[]) => {
    for (const t of ended) {
      const s = states.get(t.jobId);
      const state = s?.comment === t.marker ? stageState(s) : undefined; // another comment: its id handed out again
      if (state === 'running') continue; // its epilogue, or a second run: asked again next poll
      t.unsettled = undefined;
      if (state !== 'pending' && state !== 'held') continue;
      for (const c of waiting) {
        const ct = jobs.get(c.key)!;
        if (!ct.waitsOn.some((w) => jobs.get(w.key) === t)) continue;
        const rest = ct.waitsOn.filter((w) => jobs.get(w.key) !== t && !endedWell(w));
        await answered(`re-pointing job ${ct.jobId}`, () => updateDependency(ct.jobId, rest.map((w) => w.jobId!), exec));
        ct.waitsOn = rest;
      }
      opts.print(`job ${t.jobId} ended well (its exit file), but the controller queued it again (restarted from older state): cancelled`);
      await answered(`cancelling job ${t.jobId}`, () => scancel([t.jobId], exec));
    }
  };
  const script = (a: Attempt) => sbatchScript(opts.wsRoot, a.site!, a.run, { ...a.plan!, memoryMBPerNode: a.size.memoryMBPerNode, walltimeSeconds: a.size.walltimeSeconds }, a.inv, exitFileOf(a));
  /** Later attempts of `a`'s stage avoid `hosts`, where the site has others; the hosts avoided. */
  const avoid = (a: Attempt, hosts: string[]): Set<string> | undefined => {
    if (a.site!.nodeClasses.reduce((n, c) => n + c.count, 0) <= hosts.length) return undefined;
    const ex = new Set([...(excluded.get(a.key) ?? []), ...hosts]);
    excluded.set(a.key, ex);
    return ex;
  };
  const track = (a: Attempt, jobId: string, s?: JobState): Tracked => {
    const t: Tracked = { jobId, state: s ? stageState(s) : 'pending', restarts: s?.restarts ?? 0, nodes: s?.nodes, reason: s?.reason, missingExit: 0, exitFile: exitFileOf(a), marker: markerOf(a), waitsOn: [] };
    jobs.set(a.key, t);
    return t;
  };

  /**
   * `f`, again and again while the controller does not answer (back-off from 2 s to 60 s), up to
   * `outageSeconds`; `again` runs before each new try (has the lost call done its work?).
   */
  async function answered<T>(what: string, f: () => Promise<T>, again?: () => Promise<T | undefined>): Promise<T> {
    const until = Date.now() + (opts.outageSeconds ?? 3600) * 1000;
    for (let wait = 2000, tries = 0; ; wait = Math.min(wait * 2, 60_000)) {
      try {
        const r = tries++ && again ? ((await again()) ?? (await f())) : await f();
        if (tries > 1) opts.print(`SLURM answers again: ${what} done`);
        return r;
      } catch (e) {
        if (!(e instanceof ControllerUnreachable) || opts.signal?.aborted || Date.now() > until) throw e;
        if (tries === 1) opts.print(`${e.message}; ${what}: trying again with back-off`);
        await sleep(wait);
        if (opts.signal?.aborted) throw e;
      }
    }
  }

  /** The result the job's wrapper recorded, unless an earlier run of the job wrote it (`stale`). */
  const readExit = (a: Attempt, t: Tracked): Ended | 'stale' | 'later' => {
    const [code, start, end, peak, job, restarts, seconds] = exitFields(a);
    if (job !== undefined && job !== t.jobId) return 'stale';
    const r = Number(restarts ?? 0);
    if (r < t.restarts) return 'stale';
    if (r > t.restarts) return 'later'; // requeued and ended since the last squeue: that first
    const took = Number(seconds);
    return {
      exitCode: Number(code),
      seconds: Number.isFinite(took) ? took : Number(end) - Number(start),
      startedAt: new Date(Number(start) * 1000).toISOString(),
      peakMemoryMB: Number(peak) ? Number(peak) / 1e6 : undefined,
      where: `job ${a.jobId}, log: ${a.inv.logFile}`,
      output: tail(a.inv.logFile),
    };
  };

  /** A live job carrying `marker` that this backend does not follow: a submission whose answer was lost. */
  const lostSubmission = async (marker: string): Promise<string | undefined> => {
    const followed = new Set([...jobs.values()].map((t) => t.jobId));
    const found = [...(await squeueMarked(marker, exec))].filter(([id, s]) => s.comment === marker && !followed.has(id) && isLive(stageState(s)));
    return found.map(([id]) => id).sort((x, y) => Number(y) - Number(x))[0];
  };

  /**
   * Why a requeued job's run ended: its node failed (slurmstepd's line in its log, or sinfo), or
   * SLURM (preemption) or an admin requeued it. Undefined while that is not yet clear: a node
   * just set DOWN can still look allocated for a moment, so it is asked again at the next 2 polls.
   */
  const requeued = async (a: Attempt, t: Tracked, s: JobState): Promise<Report | undefined> => {
    // A job requeued before a poll saw it run: its log's first line names its node.
    const hosts = t.nodes ? t.nodes.split(',') : nodeInLog(a.inv.logFile, t.jobId);
    const said = cancelledInLog(a.inv.logFile, t.jobId);
    const states = await nodeStates(hosts, exec).catch(() => new Map<string, string>());
    const lost = said?.cause === 'NODE FAILURE' ? [said.node] : hosts.filter((h) => NODE_LOST.test(states.get(h) ?? ''));
    if (!lost.length && !said && (t.requeueLooks = (t.requeueLooks ?? 0) + 1) <= 2) {
      nextPoll = Date.now();
      return undefined;
    }
    t.requeueLooks = undefined;
    const why = lost.length
      ? `node ${lost.map((h) => `${h} (${states.get(h) ?? 'failed'})`).join(', ')} failed under job ${t.jobId}; SLURM requeued it`
      : `SLURM requeued job ${t.jobId} (preempted, or scontrol requeue${hosts.length ? `; ${hosts.map((h) => `${h} ${states.get(h) ?? 'unknown'}`).join(', ')}` : ''})`;
    const ex = lost.length ? avoid(a, lost) : undefined;
    if (ex) {
      await excludeNodes(t.jobId, [...ex], exec).catch((e: Error) => opts.print(`[${a.stage}] could not keep job ${t.jobId} off ${[...ex].join(',')}: ${e.message}`));
    }
    // SLURM holds a requeued job a while (BeginTime) before its next run: what the killed run wrote is not an output.
    if (stageState(s) === 'pending') settleFailedOutputs(a.inv);
    t.restarts = s.restarts ?? t.restarts;
    t.failed = undefined;
    t.missingExit = 0;
    t.state = stageState(s);
    opts.print(`[${a.stage}] ${why}; following it as attempt ${a.number + 1}`);
    return { attempt: a, requeued: { state: lost.length ? 'node-failure' : 'preempted', why, where: `job ${t.jobId}, log: ${a.inv.logFile}` } };
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
      const scriptFile = a.inv.logFile.replace(/\.log$/, '.sbatch');
      try {
        rmSync(exitFile, { force: true });
        mkdirSync(dirname(scriptFile), { recursive: true });
        writeFileSync(scriptFile, text, { mode: 0o755 });
      } catch (e) {
        throw new InfrastructureError(fileSystemFull([dirname(scriptFile)]) ?? `cannot write ${scriptFile}: ${(e as Error).message}`);
      }
      const deps = waitsOn.map((w) => w.jobId!);
      const marker = markerOf(a);
      const exclude = [...(excluded.get(a.key) ?? [])];
      let jobId: string;
      let lostParents: Attempt[] = [];
      // SLURM cancels a job whose parent failed, unless that parent may be retried (its children are then re-pointed).
      const submitOnce = async () => {
        const o = { nice: a.plan!.priority - 1, killOnInvalidDep: parentsFinal, exclude };
        try {
          return await sbatch(scriptFile, { ...o, dependsOn: deps }, exec);
        } catch (e) {
          if (!(e instanceof CampaignError) || !/dependency problem/i.test(e.message)) throw e;
          // A controller restarted from older save files does not know some parents' jobs: those
          // that ended well are not waited on; the others are reported lost by a poll and submitted
          // again (repoint then releases this one).
          const listed = await squeue(deps, exec);
          const lost = waitsOn.filter((w) => listed.get(w.jobId!)?.comment !== markerOf(w));
          if (!lost.length) throw e;
          lostParents = lost.filter((w) => !endedWell(w));
          return sbatch(scriptFile, { ...o, dependsOn: waitsOn.filter((w) => !lost.includes(w)).map((w) => w.jobId!), hold: lostParents.length > 0 }, exec);
        }
      };
      try {
        jobId = await answered(`submitting ${a.stage}`, submitOnce, () => lostSubmission(marker));
      } catch (e) {
        throw e instanceof CampaignError ? new CampaignError(`${e.message}\n  script: ${scriptFile}`) : e;
      }
      const t = track(a, jobId);
      t.waitsOn = waitsOn;
      if (lostParents.length) {
        t.lostParents = lostParents;
        opts.print(`[${a.stage}] job ${jobId} held: the controller lost job ${lostParents.map((w) => w.jobId).join(', ')} of ${lostParents.map((w) => w.stage).join(', ')}`);
      }
      opts.print(`[${a.stage}] submitted as job ${jobId}${deps.length ? ` after ${deps.join(', ')}` : ''}${exclude.length ? `, not on ${exclude.join(',')}` : ''}`);
      return { state: 'pending', jobId, script: text, walltimeSeconds: a.size.walltimeSeconds };
    },
    async poll(active, wait) {
      if (wait) await sleep(1000);
      const reports: Report[] = [];
      for (const a of active) {
        const t = jobs.get(a.key)!;
        if (t.failed || !existsSync(t.exitFile)) continue;
        const e = readExit(a, t);
        if (e === 'stale') continue;
        if (e === 'later') nextPoll = Date.now();
        else if (e.exitCode === 0) {
          t.unsettled = true;
          reports.push({ attempt: a, ended: e });
        }
        else {
          // SLURM knows whether the kernel killed it for memory, or requeued it: ask before deciding (and retrying).
          t.failed = { ended: e, polls: 0 };
          nextPoll = Date.now();
        }
      }
      for (const a of active) {
        const t = jobs.get(a.key)!;
        if (t.lostParents) await releaseIfFound(a, t);
      }
      const rest = active.filter((a) => !reports.some((r) => r.attempt === a));
      if (Date.now() < nextPoll || !rest.length) return reports;
      const ids = rest.map((a) => a.jobId!);
      const ended = [...jobs.values()].filter((t) => t.unsettled);
      let states: Map<string, JobState> | undefined;
      try {
        states = await squeue([...ids, ...ended.map((t) => t.jobId)], exec);
        if (outage) opts.print(`squeue answers again after ${outage} failed polls`);
        outage = 0;
      } catch (e) {
        if (opts.signal?.aborted || !(e instanceof CampaignError)) throw e;
        // The controller restarting is not a reason to drop the run: exit files keep coming.
        if (outage++ === 0) opts.print(`${e.message}; polling on with back-off`);
      }
      let changed = false;
      if (states) {
        const gone = ids.filter((id) => !states.has(id));
        if (gone.length) accounting ??= await hasAccounting(exec);
        if (accounting && gone.length) for (const [id, s] of await sacct(gone, exec)) states.set(id, s);
        await ghosts(ended, states, rest);
        for (const a of rest) {
          const t = jobs.get(a.key)!;
          const listed = states.get(a.jobId!);
          // A controller restarted from older save files forgets the jobs it took since, and hands their ids out again.
          const reused = listed?.comment !== undefined && listed.comment !== markerOf(a);
          const s = reused ? undefined : listed;
          if (s && (s.restarts ?? 0) > t.restarts) {
            changed = true;
            const r = await requeued(a, t, s);
            if (r) reports.push(r);
            continue;
          }
          const state: StageState | 'vanished' = s ? stageState(s) : 'vanished';
          if (s?.nodes) t.nodes = s.nodes;
          const waiting = state === 'pending' || state === 'held';
          if (state === 'held' && LAUNCH_FAILED.test(s!.reason) && (t.releases ?? 0) < 3 && s!.reason !== t.reason) {
            // SLURM holds a job its node could not start (the node's own fault): ours to let go again, up to 3 times.
            t.releases = (t.releases ?? 0) + 1;
            opts.print(`[${a.stage}] job ${a.jobId} held by SLURM (${s!.reason}): released (${t.releases} of 3)`);
            await answered(`releasing job ${a.jobId}`, () => release(a.jobId!, exec)).catch((e: Error) => opts.print(`[${a.stage}] ${e.message}`));
          }
          if (state !== t.state || (waiting && s!.reason !== t.reason)) {
            changed = true;
            if (state === 'running') opts.print(`[${a.stage}] running (job ${a.jobId})`);
            if (waiting && !ORDINARY_WAIT.has(s!.reason)) opts.print(`[${a.stage}] ${state} (job ${a.jobId}): ${s!.reason}`);
            if (waiting && NO_NODE.test(s!.reason)) await otherPartitions(a, s!);
            if (waiting || state === 'running') reports.push({ attempt: a, state, nodes: s?.nodes, reason: waiting ? s!.reason : undefined });
            if (s) t.reason = s.reason;
          }
          const over = state === 'vanished' || FINISHED.has(state);
          if (state === 'node-failure' && t.nodes) avoid(a, t.nodes.split(','));
          if (t.failed) {
            // Its job has ended (or SLURM took 3 polls to say so): out of memory, timeout, or failed.
            if (over || ++t.failed.polls >= 3) reports.push({ attempt: a, ended: { ...t.failed.ended, state: state === 'out-of-memory' || state === 'timeout' ? state : undefined, output: tail(a.inv.logFile) } });
          } else if (state === 'pruned') {
            reports.push({ attempt: a, ended: { state: 'never-starts', why: `SLURM will never start job ${a.jobId} (DependencyNeverSatisfied)`, where: `job ${a.jobId}`, output: '' } });
          } else if (over && !existsSync(t.exitFile)) {
            // The wrapper writes its exit file before the job ends; give a shared file system one more poll.
            if (++t.missingExit >= 2 || (state !== 'succeeded' && state !== 'vanished')) {
              const ended = state === 'vanished' || state === 'succeeded' ? 'failed' : (state as 'failed' | 'cancelled' | 'timeout' | 'out-of-memory' | 'node-failure');
              // Lost without a word (its node's disk, its wrapper killed): not the program's failure.
              const what = reused ? "was lost by the controller (restarted from older state: the id is now another job's)" : `${describe(state, s)} without recording an exit code`;
              reports.push({ attempt: a, ended: { state: ended, why: `job ${a.jobId} ${what}`, where: `log: ${a.inv.logFile}`, output: tail(a.inv.logFile), failureClass: ended === 'failed' ? 'infrastructure' : undefined } });
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
      const ids = attempts.flatMap((a) => a.jobId ?? []);
      await answered(`cancelling job ${ids.join(', ')}`, () => scancel(ids, exec));
    },
    async repoint(a, waitsOn) {
      try {
        await answered(`re-pointing job ${a.jobId}`, () => updateDependency(a.jobId!, waitsOn.map((w) => w.jobId!), exec));
        const t = jobs.get(a.key);
        if (t) t.waitsOn = waitsOn;
        if (t?.lostParents) await releaseIfFound(a, t);
      } catch (e) {
        // The controller lost it too (restarted from older save files): the next poll finds it gone and it is submitted again.
        if (!(e instanceof CampaignError) || !/invalid job id/i.test(e.message)) throw e;
      }
    },
    async reattach(earlier, known) {
      const recorded = earlier.flatMap((e) => e.jobId ?? []);
      const states = await answered('looking for earlier jobs', () => squeue(recorded, exec));
      const marked = await answered('looking for earlier jobs', () => squeueMarked(workspaceMarker(opts.wsRoot), exec));
      const out = new Map<string, Reattached>();
      const orphans: string[] = [];
      for (const { attempt: a, jobId: inRecord } of earlier) {
        const marker = markerOf(a);
        const exitFile = exitFileOf(a);
        const exitJob = exitFields(a)[4];
        // Jobs of this stage SLURM has and the record does not: submitted by an invocation stopped before it recorded them.
        const unrecorded = [...marked].filter(([id, s]) => s.comment === marker && !known.has(id) && (isLive(stageState(s)) || id === exitJob)).map(([id]) => id).sort((x, y) => Number(y) - Number(x));
        const jobId = inRecord ?? unrecorded[0];
        orphans.push(...unrecorded.filter((id) => id !== jobId));
        if (!jobId) continue;
        const s = states.get(jobId) ?? marked.get(jobId);
        const state = s && stageState(s);
        const live = state === 'pending' || state === 'running' || state === 'held' ? state : undefined;
        if (live || (existsSync(exitFile) && (exitJob === undefined || exitJob === jobId))) {
          // Follow the job already there instead of submitting it again.
          track(a, jobId, s);
          opts.print(`[${a.stage}] re-attached to job ${jobId} (${state ?? 'pending'}), submitted by an earlier invocation${inRecord ? '' : ' that stopped before recording it (found by its comment)'}`);
          out.set(a.key, { adopt: true, jobId, unrecorded: !inRecord, state: live, nodes: s?.nodes, reason: live === 'running' ? undefined : s?.reason });
        } else {
          out.set(a.key, { adopt: false, state: (state as AttemptState | undefined) ?? 'cancelled', why: `job ${jobId} ended ${s ? s.state : 'and was forgotten by SLURM'} without an exit code while no nx process followed it; submitted again` });
        }
      }
      if (orphans.length) {
        opts.print(`cancelling job ${orphans.join(', ')}: a second job of a stage that already has one`);
        await answered('cancelling duplicate jobs', () => scancel(orphans, exec));
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

const isLive = (s: StageState) => s === 'pending' || s === 'running' || s === 'held';

function describe(state: StageState | 'vanished', s?: JobState): string {
  if (state === 'vanished') return 'left the queue';
  if (state === 'succeeded') return 'completed';
  return `ended ${s?.state ?? state}${s?.reason && s.reason !== 'None' ? ` (${s.reason})` : ''}`;
}

/** The node the job's wrapper wrote in its log's header (`# stage s of run r, job 12 on node, started ...`). */
function nodeInLog(logFile: string, jobId: string): string[] {
  if (!existsSync(logFile)) return [];
  const m = readFileSync(logFile, 'utf8').match(new RegExp(`^# stage \\S+ of run \\S+, job ${jobId} on (\\S+), started`, 'm'));
  return m ? [m[1]] : [];
}

/** slurmstepd's line in the job's log when SLURM killed it: `*** JOB 12 ON vm CANCELLED AT <time> DUE TO NODE FAILURE ***`. */
function cancelledInLog(logFile: string, jobId: string): { node: string; cause: string } | undefined {
  if (!existsSync(logFile)) return undefined;
  const m = readFileSync(logFile, 'utf8').match(new RegExp(`\\*\\*\\* JOB ${jobId} ON (\\S+) CANCELLED AT \\S+ DUE TO (NODE FAILURE|PREEMPTION)`));
  return m ? { node: m[1], cause: m[2] } : undefined;
}

function tail(logFile: string): string {
  if (!existsSync(logFile)) return '';
  const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-TAIL_LINES);
  return `--- last lines of ${logFile} ---\n${lines.join('\n')}\n`;
}
