/**
 * The SLURM commands the backend calls, without a shell: arguments are passed as they are.
 * Every query covers many jobs in one call.
 */
import { spawn } from 'node:child_process';
import { CampaignError } from '../../config/errors';

export interface Exec {
  (cmd: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * Runs in its own process group, so the terminal's Ctrl-C (sent to nx's whole group) does not
 * kill an sbatch between SLURM accepting the job and printing its id: every id is learned,
 * and the interrupted backend can cancel it.
 */
export const exec: Exec = (cmd, args) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr || e.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128, stdout, stderr: stderr || (signal ? `killed by ${signal}` : '') }));
  });

/** `sbatch --parsable` prints `id` or `id;cluster`. */
export async function sbatch(script: string, opts: { dependsOn: string[]; nice?: number; killOnInvalidDep: boolean }, run: Exec = exec): Promise<string> {
  const args = ['--parsable'];
  if (opts.dependsOn.length) args.push(`--dependency=afterok:${opts.dependsOn.join(':')}`, `--kill-on-invalid-dep=${opts.killOnInvalidDep ? 'yes' : 'no'}`);
  if (opts.nice !== undefined) args.push(`--nice=${opts.nice}`);
  args.push(script);
  const r = await run('sbatch', args);
  if (r.code !== 0) throw new CampaignError(`sbatch ${script} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  return r.stdout.trim().split(';')[0];
}

export interface JobState {
  /** SLURM's state, e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY. */
  state: string;
  /** Why a pending job waits (e.g. Dependency, DependencyNeverSatisfied, JobHeldUser). */
  reason: string;
  exitCode?: string;
  /** Hosts, once it runs (squeue's %N). */
  nodes?: string;
}

/** One squeue call for all `ids` (finished jobs stay listed until MinJobAge). */
export async function squeue(ids: string[], run: Exec = exec): Promise<Map<string, JobState>> {
  const out = new Map<string, JobState>();
  if (!ids.length) return out;
  const r = await run('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T|%r|%N']);
  // An id SLURM has forgotten makes squeue fail ("Invalid job id specified") for the whole list.
  if (r.code !== 0 && !/invalid job id/i.test(r.stderr)) throw new CampaignError(`squeue failed: ${r.stderr.trim()}`);
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason, nodes] = line.trim().split('|');
    if (id && state) out.set(id, { state, reason: reason ?? '', nodes: nodes || undefined });
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
  if (r.code !== 0) throw new CampaignError(`scontrol update JobId=${jobId} Dependency=... failed: ${r.stderr.trim()}`);
}

export async function scancel(ids: string[], run: Exec = exec): Promise<void> {
  if (ids.length) await run('scancel', ids);
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
