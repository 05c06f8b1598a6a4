/**
 * The SLURM commands the backend calls, without a shell: arguments are passed as they are.
 * Every query covers many jobs in one call.
 */
import { spawn } from 'node:child_process';
import { InfrastructureError } from '../../engine/backend';
import { CampaignError } from '../../format/errors';

export interface Exec {
  (cmd: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * The shell that starts every SLURM command: SIGINT, SIGTERM and SIGHUP ignored, a mark on fd 3,
 * then exec, so the command inherits the ignored dispositions (SLURM's clients install no
 * handlers of their own for them).
 */
const SHIELDED = 'trap "" INT TERM HUP; printf x >&3; exec "$0" "$@" 3>&-';
/** Starts of one command killed before its shell ignored the signals, after which exec gives up. */
const MAX_STARTS = 5;

/**
 * Runs a SLURM command that no signal meant for nx can stop half-way, so that every job SLURM
 * accepts is learned (its id read) and every scancel reaches all of its jobs.
 *
 * Its own process group (detached) keeps the terminal's Ctrl-C, sent to nx's whole group, away
 * from it; that is not enough. Nx stops the batch worker this backend runs in with a tree kill
 * (killProcessTreeGraceful): it walks the worker's descendants by parent pid, whatever their
 * process group, signals the leaves first, and SIGKILLs what is left after
 * NX_PROCESS_KILL_GRACE_PERIOD (5 s). An sbatch or scancel running at that moment is such a leaf:
 * an sbatch killed after SLURM took its job but before printing its id leaves a job nobody knows,
 * and a scancel killed part-way leaves some of its jobs queued. With the three signals ignored it
 * runs to its end; nx waits for it before signalling the worker, whose cancelling takes
 * milliseconds, well inside the grace period.
 *
 * The shell can still be signalled in the instant before its trap. It has then started nothing
 * (no mark on fd 3), so the command is started again.
 */
export const exec: Exec = async (cmd, args) => {
  for (let start = 1; ; start++) {
    const r = await shielded(cmd, args);
    if (r.reachedCommand || !r.signal || start === MAX_STARTS) return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }
};

function shielded(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string; signal?: string; reachedCommand: boolean }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', SHIELDED, cmd, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let reachedCommand = false;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdio[3]!.on('data', () => (reachedCommand = true));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr || e.message, reachedCommand: true }));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 128, stdout, stderr: stderr || (signal ? `killed by ${signal}${reachedCommand ? '' : ` before it started (${MAX_STARTS} times)`}` : ''), signal: signal ?? undefined, reachedCommand }),
    );
  });
}

/**
 * What a client prints when the controller does not answer (stopped, restarting, overloaded):
 * the call may be made again later. Each such call takes SLURM's own retries (about 9 s) to fail.
 */
const UNREACHABLE = /Unable to contact slurm controller|Socket timed out|Connection (refused|timed out)|Zero Bytes were transmitted|Communication connection failure|backup controller in standby mode|Transport endpoint is not connected/i;

/** A SLURM command failed because the controller did not answer. */
export class ControllerUnreachable extends InfrastructureError {}

function failed(what: string, r: { code: number; stderr: string }): CampaignError {
  const why = r.stderr.trim() || `exit code ${r.code}`;
  return UNREACHABLE.test(r.stderr) ? new ControllerUnreachable(`${what} failed: ${why}`) : new CampaignError(`${what} failed: ${why}`);
}

export interface SbatchOptions {
  dependsOn: string[];
  nice?: number;
  killOnInvalidDep: boolean;
  /** Hosts the job must not run on (a node that failed under an earlier attempt). */
  exclude?: string[];
  /** Submitted held (`scontrol release` lets it start). */
  hold?: boolean;
}

/** `sbatch --parsable` prints `id` or `id;cluster`. */
export async function sbatch(script: string, opts: SbatchOptions, run: Exec = exec): Promise<string> {
  const args = ['--parsable'];
  if (opts.dependsOn.length) args.push(`--dependency=afterok:${opts.dependsOn.join(':')}`, `--kill-on-invalid-dep=${opts.killOnInvalidDep ? 'yes' : 'no'}`);
  if (opts.nice !== undefined) args.push(`--nice=${opts.nice}`);
  if (opts.exclude?.length) args.push(`--exclude=${opts.exclude.join(',')}`);
  if (opts.hold) args.push('--hold');
  args.push(script);
  const r = await run('sbatch', args);
  if (r.code !== 0) throw failed(`sbatch ${script}`, r);
  return r.stdout.trim().split(';')[0];
}

export interface JobState {
  /** SLURM's state, e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY. */
  state: string;
  /** Why a pending job waits (e.g. Dependency, DependencyNeverSatisfied, JobHeldUser, ReqNodeNotAvail). */
  reason: string;
  exitCode?: string;
  /** Hosts, once it runs. */
  nodes?: string;
  /** How many times SLURM requeued it (node failure, preemption, `scontrol requeue`): each is a new run of the same job id. */
  restarts?: number;
  /** The partition(s) it may run in (a pending job asked for several lists them comma-separated). */
  partition?: string;
  comment?: string;
}

/** squeue's fields, each followed by `|` (-O: no width limit, unlike --format). */
const SQUEUE_FIELDS = ['JobID', 'State', 'Reason', 'NodeList', 'RestartCnt', 'Partition', 'Comment'].map((f) => `${f}:|`).join(',');

function parseSqueue(stdout: string): Map<string, JobState> {
  const out = new Map<string, JobState>();
  for (const line of stdout.split('\n')) {
    const [id, state, reason, nodes, restarts, partition, ...comment] = line.trim().split('|');
    const c = comment.slice(0, -1).join('|');
    if (id && state) out.set(id, { state, reason: reason ?? '', nodes: nodes || undefined, restarts: Number(restarts) || 0, partition: partition || undefined, comment: c && c !== '(null)' ? c : undefined });
  }
  return out;
}

/** One squeue call for all `ids` (finished jobs stay listed until MinJobAge). */
export async function squeue(ids: string[], run: Exec = exec): Promise<Map<string, JobState>> {
  if (!ids.length) return new Map();
  const r = await run('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, `--Format=${SQUEUE_FIELDS}`]);
  // An id SLURM has forgotten makes squeue fail ("Invalid job id specified") for the whole list.
  if (r.code !== 0 && !/invalid job id/i.test(r.stderr)) throw failed('squeue', r);
  return parseSqueue(r.stdout);
}

/** This user's jobs whose comment starts with `prefix`, in any state SLURM still lists. */
export async function squeueMarked(prefix: string, run: Exec = exec): Promise<Map<string, JobState>> {
  const r = await run('squeue', ['--noheader', '--states=all', '--me', `--Format=${SQUEUE_FIELDS}`]);
  if (r.code !== 0) throw failed('squeue', r);
  return new Map([...parseSqueue(r.stdout)].filter(([, s]) => s.comment?.startsWith(prefix)));
}

/** SLURM's state of each of `nodes` (sinfo %T: idle, allocated, down, drained, ...; `*` when not responding). */
export async function nodeStates(nodes: string[], run: Exec = exec): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!nodes.length) return out;
  const r = await run('sinfo', ['--noheader', '--Node', `--nodes=${nodes.join(',')}`, '--format=%N|%T']);
  if (r.code !== 0) throw failed('sinfo', r);
  for (const line of r.stdout.split('\n')) {
    const [node, state] = line.trim().split('|');
    if (node && state) out.set(node, state);
  }
  return out;
}

/** Partitions that are up and have idle or mixed nodes, but for `besides`: name -> such nodes. */
export async function freePartitions(besides: string[], run: Exec = exec): Promise<Map<string, number>> {
  const r = await run('sinfo', ['--noheader', '--format=%R|%a|%T|%D']);
  if (r.code !== 0) throw failed('sinfo', r);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const [name, avail, state, count] = line.trim().split('|');
    if (!name || besides.includes(name) || avail !== 'up' || !/^(idle|mixed)$/.test(state)) continue;
    out.set(name, (out.get(name) ?? 0) + (Number(count) || 0));
  }
  return out;
}

/** Whether sacct answers here (it fails when accounting storage is disabled). */
export async function hasAccounting(run: Exec = exec): Promise<boolean> {
  const r = await run('sacct', ['--noheader', '--parsable2', '--jobs=1', '--format=JobID']);
  return r.code === 0;
}

/** One sacct call for all `ids`: final states of jobs squeue no longer lists. */
export async function sacct(ids: string[], run: Exec = exec): Promise<Map<string, JobState>> {
  const out = new Map<string, JobState>();
  if (!ids.length) return out;
  const r = await run('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${ids.join(',')}`, '--format=JobID,State,Reason,ExitCode']);
  if (r.code !== 0) return out;
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason, exitCode] = line.trim().split('|');
    // "CANCELLED by 0" -> CANCELLED
    if (id && state) out.set(id, { state: state.split(' ')[0], reason: reason ?? '', exitCode });
  }
  return out;
}

/** Point a pending job's afterok at other jobs (a retried parent's new job). */
export async function updateDependency(jobId: string, afterok: string[], run: Exec = exec): Promise<void> {
  const r = await run('scontrol', ['update', `JobId=${jobId}`, `Dependency=${afterok.length ? `afterok:${afterok.join(':')}` : ''}`]);
  if (r.code !== 0) throw failed(`scontrol update JobId=${jobId} Dependency=...`, r);
}

/** Let a job held by `sbatch --hold` start. */
export async function release(jobId: string, run: Exec = exec): Promise<void> {
  const r = await run('scontrol', ['release', jobId]);
  if (r.code !== 0) throw failed(`scontrol release ${jobId}`, r);
}

/** Keep a pending (requeued) job off `nodes`. */
export async function excludeNodes(jobId: string, nodes: string[], run: Exec = exec): Promise<void> {
  const r = await run('scontrol', ['update', `JobId=${jobId}`, `ExcNodeList=${nodes.join(',')}`]);
  if (r.code !== 0) throw failed(`scontrol update JobId=${jobId} ExcNodeList=...`, r);
}

/** Cancels `ids`; throws ControllerUnreachable when the controller took none of it. */
export async function scancel(ids: string[], run: Exec = exec): Promise<void> {
  if (!ids.length) return;
  const r = await run('scancel', ids);
  if (r.code !== 0 && UNREACHABLE.test(r.stderr)) throw failed('scancel', r);
}

/** BPS-style states users know, from SLURM's. */
export type StageState = 'pending' | 'running' | 'succeeded' | 'failed' | 'held' | 'cancelled' | 'timeout' | 'out-of-memory' | 'node-failure' | 'pruned';

export function stageState(s: JobState): StageState {
  switch (s.state) {
    case 'PENDING':
      if (s.reason === 'DependencyNeverSatisfied') return 'pruned';
      return /held/i.test(s.reason) ? 'held' : 'pending';
    case 'REQUEUE_HOLD':
    case 'SPECIAL_EXIT':
    case 'SUSPENDED':
    case 'STOPPED':
      return 'held';
    case 'CONFIGURING':
    case 'RUNNING':
    case 'COMPLETING':
    case 'RESIZING':
    case 'SIGNALING':
    case 'STAGE_OUT':
    case 'REQUEUED':
    case 'REQUEUE_FED':
    case 'PREEMPTED': // requeued or cancelled by SLURM; wait for which
      return 'running';
    case 'COMPLETED':
      return 'succeeded';
    case 'CANCELLED':
    case 'REVOKED':
      return 'cancelled';
    case 'TIMEOUT':
    case 'DEADLINE':
      return 'timeout';
    case 'OUT_OF_MEMORY':
      return 'out-of-memory';
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return 'node-failure';
    default:
      return 'failed';
  }
}

export const FINISHED: ReadonlySet<StageState> = new Set(['succeeded', 'failed', 'cancelled', 'timeout', 'out-of-memory', 'node-failure']);
