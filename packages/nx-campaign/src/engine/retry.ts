/**
 * One retry policy for every backend (BPS's numberOfRetries, retryUnlessExit, memoryMultiplier
 * and requestMemoryMax): a failed attempt is tried again, bigger where it ran out of memory or
 * time, until the policy's count or a cap says no. Exit codes in `never` are science failures.
 */
import { formatDuration, formatMemory } from '../format/quantities';
import { notRetried, type RetryPolicy } from '../format/retries';
import type { StageResult } from '../store/result';

/** What an attempt holds: memory on each of its nodes and its walltime. */
export interface AttemptSize {
  memoryMBPerNode: number;
  walltimeSeconds: number;
}

export type NextAttempt = ({ retry: true; why: string } & AttemptSize) | { retry: false; why: string };

/**
 * After failed attempt number `retriesSoFar + 1` with `result`, at `size`: the next attempt's size,
 * or why there is none ('' when retries are off or the attempt was stopped). `largestNodeMB`
 * caps memory with `memory_max`: an attempt cannot grow beyond the machine it runs on.
 */
export function nextAttempt(p: RetryPolicy, retriesSoFar: number, result: StageResult, size: AttemptSize, largestNodeMB: number): NextAttempt {
  if (result.state === 'cancelled' || result.state === 'interrupted') return { retry: false, why: '' };
  const not = notRetried(p, retriesSoFar, result.exitCode);
  if (not !== undefined) return { retry: false, why: not };
  let { memoryMBPerNode, walltimeSeconds } = size;
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
  return { retry: true, memoryMBPerNode, walltimeSeconds, why };
}

/**
 * What slurmstepd and srun write to a log when the kernel or SLURM killed for memory, and what
 * Python and C++ programs print when an allocation fails (on a shared machine, a larger
 * reservation leaves them more room).
 */
export const OOM_IN_LOG = /oom-kill event|task \d+: Out Of Memory|exceeded memory limit|Exceeded job memory limit|^MemoryError\b|std::bad_alloc/m;
