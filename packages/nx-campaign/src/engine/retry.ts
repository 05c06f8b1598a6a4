/**
 * One retry policy for every backend (BPS's numberOfRetries, retryUnlessExit, memoryMultiplier
 * and requestMemoryMax): a failed attempt is tried again, bigger where it ran out of memory or
 * time, until the policy's count or a cap says no. Exit codes in `never` are science failures.
 * Infrastructure failures have their own budget (`infrastructure`, unless it is `count`);
 * pre-flight failures and a full file system are never retried.
 */
import { formatDuration, formatMemory } from '../format/quantities';
import type { RetryPolicy } from '../format/retries';
import type { AttemptState } from '../store/record';
import type { FailureClass, StageResult } from '../store/result';
import { FILE_SYSTEM_FULL } from '../util/disk';

/** What an attempt holds: memory on each of its nodes and its walltime. */
export interface AttemptSize {
  memoryMBPerNode: number;
  walltimeSeconds: number;
}

/** A stage's retries so far: all of them, and those of infrastructure failures on their own budget. */
export interface RetriesSoFar {
  all: number;
  infrastructure: number;
}

/** `budget`: which retries this one uses up. */
export type NextAttempt = ({ retry: true; why: string; budget: 'count' | 'infrastructure' } & AttemptSize) | { retry: false; why: string };

/**
 * The class of a failure from how it ended: out of memory or time are resources; a node, a
 * requeue, a cancel or an interrupt, or an end without an exit code (a job lost) infrastructure;
 * an exit code science.
 */
export function classOf(state: AttemptState | undefined, exitCode: number | undefined): FailureClass {
  if (state === 'out-of-memory' || state === 'timeout') return 'resources';
  if (state === 'node-failure' || state === 'preempted' || state === 'cancelled' || state === 'interrupted') return 'infrastructure';
  return exitCode === undefined ? 'infrastructure' : 'science';
}

/**
 * After a failed attempt with `result` at `size`: the next attempt's size and the budget it uses,
 * or why there is none ('' when retries are off, the attempt was stopped, or the message says
 * it all). `largestNodeMB` caps memory with `memory_max`: an attempt cannot grow beyond the
 * machine it runs on.
 */
export function nextAttempt(p: RetryPolicy, soFar: RetriesSoFar, result: StageResult, size: AttemptSize, largestNodeMB: number): NextAttempt {
  if (result.state === 'cancelled' || result.state === 'interrupted') return { retry: false, why: '' };
  const cls = result.failureClass ?? classOf(result.state, result.exitCode);
  if (cls === 'pre-flight' || result.message.startsWith(FILE_SYSTEM_FULL)) return { retry: false, why: '' };
  if (cls === 'science' && result.exitCode !== undefined && p.never.includes(result.exitCode)) return { retry: false, why: `not retried: exit code ${result.exitCode} is in retries.never` };
  let { memoryMBPerNode, walltimeSeconds } = size;
  if (cls === 'infrastructure' && p.infrastructure !== 'count') {
    if (soFar.infrastructure >= p.infrastructure) return { retry: false, why: p.infrastructure ? `not retried: ${p.infrastructure} infrastructure retries used` : '' };
    return { retry: true, budget: 'infrastructure', memoryMBPerNode, walltimeSeconds, why: result.state ?? 'failed' };
  }
  const counted = soFar.all - soFar.infrastructure;
  if (counted >= p.count) return { retry: false, why: p.count ? `not retried: ${p.count} retries used` : '' };
  let why: string = result.state ?? 'failed';
  if (result.state === 'out-of-memory') {
    const cap = Math.min(p.memoryMaxMB ?? Infinity, largestNodeMB);
    if (memoryMBPerNode >= cap) return { retry: false, why: `not retried: out of memory at ${formatMemory(memoryMBPerNode)}, the cap (retries.memory_max or the largest node)` };
    memoryMBPerNode = Math.min(Math.ceil(memoryMBPerNode * p.memoryMultiplier), cap);
    why = `out of memory with ${formatMemory(size.memoryMBPerNode)}; now ${formatMemory(memoryMBPerNode)}`;
  } else if (result.state === 'timeout') {
    const cap = p.walltimeMaxSeconds ?? Infinity;
    if (walltimeSeconds >= cap) return { retry: false, why: `not retried: timed out at ${formatDuration(walltimeSeconds)}, retries.walltime_max` };
    walltimeSeconds = Math.min(Math.ceil((walltimeSeconds * p.walltimeMultiplier) / 60) * 60, cap);
    why = `timed out after ${formatDuration(size.walltimeSeconds)}; now ${formatDuration(walltimeSeconds)}`;
  }
  return { retry: true, budget: 'count', memoryMBPerNode, walltimeSeconds, why };
}

/**
 * What slurmstepd and srun write to a log when the kernel or SLURM killed for memory, and what
 * Python and C++ programs print when an allocation fails (on a shared machine, a larger
 * reservation leaves them more room).
 */
export const OOM_IN_LOG = /oom-kill event|task \d+: Out Of Memory|exceeded memory limit|Exceeded job memory limit|^MemoryError\b|std::bad_alloc/m;
