/**
 * What a backend does for the engine (engine/engine.ts), in the spirit of Snakemake's executor
 * plugins: submit an attempt with the attempts it waits on, poll the active ones in one call,
 * cancel a set. Ordering, the plan, retries, hooks, outputs, receipts and the record are the
 * engine's; a backend (local, allocation, SLURM, BPS) is this interface and nothing else.
 */
import type { StageInvocation } from '../model/command';
import type { Run } from '../model/run';
import type { StagePlan } from '../planning/plan-run';
import type { Site } from '../sites/site';
import { CampaignError } from '../format/errors';
import type { AttemptState } from '../store/record';
import type { FailureClass } from '../store/result';

/** What one attempt holds. Declared sizes live on the stage; this is what the plan and retries made of them. */
export interface AttemptSize {
  /** Cores on all its nodes together. */
  cores: number;
  nodes: number;
  memoryMBPerNode: number;
  walltimeSeconds: number;
}

export interface Attempt {
  /** `<run>/<stage>`. */
  readonly key: string;
  readonly run: Run;
  readonly stage: string;
  readonly inv: StageInvocation;
  /** 1 for the first attempt. */
  readonly number: number;
  readonly size: AttemptSize;
  /** The plan's entry, on backends that plan. */
  readonly plan?: StagePlan;
  /** The site it runs at (the allocation, on the allocation backend). */
  readonly site?: Site;
  /** The backend's id for it (a SLURM job id), once submitted. */
  jobId?: string;
}

export interface Submitted {
  state: 'pending' | 'running';
  jobId?: string;
  /** The submit file, for the record. */
  script?: string;
  /** The backend that took it, when not the one named (BPS inside a run's backend). */
  backend?: string;
  /** How the user's edit of the submit file differs from its rendering (BPS), for the record. */
  scriptDiff?: string;
  /** Hosts it runs on, when known at submission. */
  nodes?: string[];
  /** The walltime the backend enforces, for the record. */
  walltimeSeconds?: number;
}

/**
 * How an attempt ended, as the backend saw it; its outputs are not yet checked. Without `state`,
 * `exitCode` alone says (0: success if the outputs are there).
 */
export interface Ended {
  exitCode?: number;
  /** How it ended when not by its exit code: killed for memory or time, cancelled, lost; `never-starts`: the backend will never start it. */
  state?: Exclude<AttemptState, 'submitted' | 'pending' | 'running' | 'held' | 'succeeded' | 'pruned'> | 'never-starts';
  /** Why, when not an exit code: `command not found: x`. */
  why?: string;
  /** Where to look, for messages: `log: <file>`, `job 12, log: <file>`. */
  where: string;
  seconds?: number;
  startedAt?: string;
  peakMemoryMB?: number;
  /** The last lines of its log. */
  output: string;
  /** The class of its failure when the backend knows better than its state (controller unreachable: infrastructure). */
  failureClass?: FailureClass;
}

/** Refused or failed by the machinery, not by the stage (a controller that does not answer, a full disk): an infrastructure failure. */
export class InfrastructureError extends CampaignError {}

/**
 * What a poll learned of an attempt: it waits (`reason`: why, in the backend's words) or runs; it
 * ended; or the backend started it over under the same job (SLURM requeued it after a node
 * failure or a preemption): this attempt ended so, and the next one is that job's new run.
 */
export type Report =
  | { attempt: Attempt; state: 'pending' | 'running' | 'held'; nodes?: string; reason?: string }
  | { attempt: Attempt; ended: Ended }
  | { attempt: Attempt; requeued: { state: 'node-failure' | 'preempted'; why: string; where: string } };

/**
 * An attempt an earlier invocation left live (a SLURM job), followed again (`unrecorded`: the
 * record never had its job, found by the backend), or found dead.
 */
export type Reattached =
  | { adopt: true; jobId: string; unrecorded: boolean; state?: 'pending' | 'running' | 'held'; nodes?: string; reason?: string }
  | { adopt: false; state: AttemptState; why: string };

export interface Backend {
  /** For the record: local, allocation, slurm. */
  readonly name: string;
  /**
   * True: every attempt is submitted at once, waiting on its parents' attempts (SLURM's afterok).
   * False: the engine submits an attempt when its parents succeeded and `claim` finds it room.
   */
  readonly submitsAhead: boolean;
  /** Whether stages are sized and ordered by a plan over `planSite` (else over the run's site); without, at their declared size. */
  readonly plans: boolean;
  /** The site to plan over instead of the run's own (an allocation's nodes). */
  readonly planSite?: { site: Site; siteFrom: string };
  /** Refuses (CampaignError) what it can never run, before anything is recorded. */
  check?(attempts: Attempt[]): void;
  /** The most memory one node gives an attempt: retries never ask for more. */
  largestNodeMB(a: Attempt): number;
  /** Takes room for `a` if there is some now (backends that do not submit ahead). */
  claim?(a: Attempt): boolean;
  release?(a: Attempt): void;
  /** `parentsFinal`: none of what it waits on will be retried (SLURM may then cancel it when one fails). Throws CampaignError when refused. */
  submit(a: Attempt, waitsOn: Attempt[], parentsFinal: boolean): Promise<Submitted>;
  /** What changed for `active` since the last poll; `wait`: first wait a little (until something ends, or the backend's tick). */
  poll(active: Attempt[], wait: boolean): Promise<Report[]>;
  cancel(attempts: Attempt[]): Promise<void>;
  /** True when it retried inside the attempt already (BPS retries its jobs): the engine does not submit it again. */
  retriesItself?(a: Attempt): boolean;
  /** A waiting attempt now waits on `waitsOn` (a parent was submitted again). */
  repoint?(a: Attempt, waitsOn: Attempt[]): Promise<void>;
  /**
   * The stages not yet done, with the job of each the record has live; `known`: every job id the
   * record has for these runs. Verdicts for those with a job (recorded, or found by the backend).
   */
  reattach?(earlier: { attempt: Attempt; jobId?: string }[], known: Set<string>): Promise<Map<string, Reattached>>;
  /** After the first round of submissions, interrupted or not. */
  submittedAll?(attempts: Attempt[]): void;
  /** The record now holds the attempt's job id (what was in flight until then may be forgotten). */
  recorded?(a: Attempt): void;
  /** After the last attempt ended (or was left running): release what it holds. */
  close?(): Promise<void>;
}
