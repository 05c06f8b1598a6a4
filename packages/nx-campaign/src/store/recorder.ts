import type { StageResult } from './result';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { stageFingerprintParts, type FingerprintParts } from '../graph/fingerprint';
import { fingerprintDiff } from '../graph/why';
import { renderArgv, shellLine, stageInvocation } from '../model/command';
import type { Run } from '../model/run';
import type { StagePlan } from '../planning/plan-run';
import { CampaignRecord, configHash, LIVE_STATES, runFiles, type AttemptStart, type AttemptState, type FingerprintRow, type RunVersion, type StageSummary } from './record';

/** An attempt's end in a few words: its state, and its exit code when it had one. */
export function endOf(a: Pick<FingerprintRow, 'state' | 'exit_code'>): string {
  return `${a.state}${a.exit_code !== null ? `, exit ${a.exit_code}` : ''}`;
}

/**
 * What makes a stage's outputs out of date against the fingerprint parts they were made from:
 * a difference of parts, else an output missing; undefined when neither.
 */
export function stageChange(wsRoot: string, run: Run, stage: string, old: FingerprintParts, now: FingerprintParts): string | undefined {
  const diff = fingerprintDiff(old, now);
  if (diff.length) return diff.length > 3 ? `${diff.slice(0, 3).join('; ')} (and ${diff.length - 3} more)` : diff.join('; ');
  const missing = stageInvocation(wsRoot, run, stage).outputs.filter((o) => !existsSync(o.final)).map((o) => relative(wsRoot, o.final));
  if (missing.length) return `output ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} missing`;
  return undefined;
}

/** Every stage the run executes, as the record keeps it; commands with paths as `{workspaceRoot}/...`. */
export function stageSummaries(wsRoot: string, run: Run, plan?: Map<string, StagePlan>): StageSummary[] {
  const kept = new Set(run.stages);
  return run.stages.map((name) => {
    const st = run.dag.stages.get(name)!;
    const sp = plan?.get(name);
    return {
      name,
      pipeline: st.pipeline,
      group: typeof st.config.step === 'string' ? st.config.step : st.pipeline,
      parents: run.dag.parents.get(name)!.filter((p) => kept.has(p)),
      command: shellLine(renderArgv(run, name, (p) => (p.startsWith('/') ? p : `{workspaceRoot}/${p}`))),
      ...(sp ? { planned: { start: sp.start, end: sp.end, nodes: sp.nodes } } : {}),
    };
  });
}

/** What a backend tells the record about an attempt it starts; the end comes with its result. */
export interface AttemptLog {
  started(run: Run, stage: string, info: Omit<AttemptStart, 'stage' | 'pipeline' | 'configHash'>): void;
  /** `reason`: why a pending attempt waits (kept in wait_reason; running clears it). */
  state(run: Run, stage: string, state: AttemptState, nodes?: string, reason?: string): void;
  /** SLURM attempts of `run` an earlier invocation left queued or running. */
  live(run: Run): { stage: string; jobId: string; attemptId: number }[];
  /** Every job id the record has for `run`'s attempts. */
  jobIds(run: Run): Set<string>;
  /** Follow an earlier attempt as this stage's current one. */
  adopt(run: Run, stage: string, attemptId: number): void;
  /** End an earlier attempt found dead (it will be submitted again). */
  abandon(attemptId: number, state: AttemptState, message: string): void;
  /** End the current attempt with its result (a retry follows). */
  finished(run: Run, stage: string, result: StageResult, backend: string): void;
  /** Keep escalated memory or walltime for later runs of this stage and configuration. */
  tune(run: Run, stage: string, t: { memoryMB?: number; walltimeSeconds?: number }): void;
}

/** Backends whose attempts live on when nx ends (SLURM jobs, BPS workflows): re-attached, not ended. */
const OUTLIVE_NX = ['slurm', 'bps'];

const STATE_OF: Record<StageResult['status'], AttemptState> = { success: 'succeeded', failure: 'failed', skipped: 'pruned' };

/** One nx invocation's view of the record: the runs it holds, and each stage's current attempt. */
export class Recorder implements AttemptLog {
  private readonly runs = new Map<string, RunVersion & { invocationId: number; lost: number[] }>();
  private readonly current = new Map<string, number>();
  private readonly parts = new Map<string, Map<string, { fingerprint: string; parts: FingerprintParts }>>();

  constructor(
    readonly record: CampaignRecord,
    private readonly wsRoot: string,
  ) {}

  /** Take the run (refusing if another process has it) and record its files, stages and plan as a version. */
  begin(run: Run, meta: { site?: string; backend: string; plan?: Map<string, StagePlan> }): RunVersion & { invocationId: number; lost: number[] } {
    const stages = stageSummaries(this.wsRoot, run, meta.plan);
    this.parts.set(run.name, stageFingerprintParts(this.wsRoot, run));
    const v = this.record.beginInvocation(run, runFiles(this.wsRoot, run), { site: meta.site, backend: meta.backend, stages });
    this.runs.set(run.name, v);
    // No process follows them any more: this one holds the run. SLURM jobs may still be alive.
    for (const a of this.record.liveAttempts(run.name)) {
      if (!OUTLIVE_NX.includes(a.backend) || !a.job_id) this.record.endAttempt(a.id, { state: 'interrupted', message: 'its nx process ended before it did' });
    }
    return v;
  }

  started(run: Run, stage: string, info: Omit<AttemptStart, 'stage' | 'pipeline' | 'configHash'>): void {
    const v = this.runs.get(run.name)!;
    const st = run.dag.stages.get(stage)!;
    // A Rubin group's data query and output collection, per submission (RTN-023).
    const rubin = typeof st.config.query === 'string' ? { dataQuery: st.config.query, outputCollection: String(st.config.output) } : {};
    const f = this.parts.get(run.name)?.get(stage);
    const why = f ? { fingerprint: f.fingerprint, fingerprintParts: JSON.stringify(f.parts), reason: info.reason ?? this.reason(run, stage, f.parts, v.invocationId) } : {};
    const id = this.record.startAttempt(v, { ...info, ...rubin, ...why, stage, pipeline: st.pipeline, configHash: configHash(run, stage) });
    this.current.set(`${run.name}/${stage}`, id);
  }

  /** Why the stage runs now, against its last attempt and the parts of its last success. */
  private reason(run: Run, stage: string, now: FingerprintParts, invocationId: number): string {
    const { last, succeeded } = this.record.fingerprintHistory(run.name, stage);
    if (last && last.invocation_id === invocationId && last.state !== 'succeeded') return `retry after attempt ${last.attempt} (${endOf(last)})`;
    if (!succeeded) return last ? `attempt ${last.attempt} did not succeed (${endOf(last)})` : 'first run';
    if (!succeeded.fingerprint_parts) return `attempt ${succeeded.attempt} succeeded before nx-campaign recorded fingerprints: no comparison`;
    const change = stageChange(this.wsRoot, run, stage, JSON.parse(succeeded.fingerprint_parts) as FingerprintParts, now);
    if (change) return change;
    if (process.env.NX_SKIP_NX_CACHE === 'true') return '--skip-nx-cache';
    return `nothing changed since attempt ${succeeded.attempt}: Nx had no cache entry for it (nx reset, or another clone)`;
  }

  state(run: Run, stage: string, state: AttemptState, nodes?: string, reason?: string): void {
    const id = this.current.get(`${run.name}/${stage}`);
    if (id !== undefined) this.record.setAttemptState(id, state, nodes, reason);
  }

  live(run: Run): { stage: string; jobId: string; attemptId: number }[] {
    return this.record.liveAttempts(run.name).flatMap((a) => (OUTLIVE_NX.includes(a.backend) && a.job_id ? [{ stage: a.stage, jobId: a.job_id, attemptId: a.id }] : []));
  }

  jobIds(run: Run): Set<string> {
    return this.record.jobIds(run.name);
  }

  adopt(run: Run, stage: string, attemptId: number): void {
    this.current.set(`${run.name}/${stage}`, attemptId);
  }

  tune(run: Run, stage: string, t: { memoryMB?: number; walltimeSeconds?: number }): void {
    this.record.setTuning(run.dag.stages.get(stage)!.pipeline, stage, configHash(run, stage), t);
  }

  abandon(attemptId: number, state: AttemptState, message: string): void {
    this.record.endAttempt(attemptId, { state, message });
  }

  /** The stage's result ends its attempt; a stage skipped or refused before it started gets one too. */
  finished(run: Run, stage: string, result: StageResult, backend: string): void {
    const key = `${run.name}/${stage}`;
    let id = this.current.get(key);
    if (id === undefined) {
      if (result.status === 'success') return; // up to date: nothing ran
      this.started(run, stage, { backend, state: 'submitted', logPath: result.logFile });
      id = this.current.get(key)!;
    }
    if (result.state && (LIVE_STATES as readonly string[]).includes(result.state)) {
      // Left running (--leaveRunning): the attempt stays live for the next invocation.
      this.record.setAttemptState(id, result.state);
      this.current.delete(key);
      return;
    }
    this.record.endAttempt(id, { state: result.state ?? STATE_OF[result.status], exitCode: result.exitCode, startedAt: result.startedAt, seconds: result.seconds, peakMemoryMB: result.peakMemoryMB, message: result.message, failureClass: result.failureClass });
    this.current.delete(key);
  }

  end(run: Run, state: 'done' | 'failed' | 'interrupted'): void {
    const v = this.runs.get(run.name);
    if (v) this.record.endInvocation(v.invocationId, state);
  }
}
