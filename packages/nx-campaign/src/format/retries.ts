import { z } from 'zod';
import { memorySchema, runtimeSchema } from './resources';

/**
 * Retries, as a run file's or a site's `retries:` block (BPS's numberOfRetries, retryUnlessExit,
 * memoryMultiplier and requestMemoryMax). Per-stage keys under `stages:` win over the block's,
 * the run's over the site's.
 */
const policySchema = z.strictObject({
  count: z.number().int().min(0).max(100).optional(),
  never: z.array(z.number().int().min(0).max(255)).optional(),
  memory_multiplier: z.number().min(1).max(100).optional(),
  memory_max: memorySchema.optional(),
  walltime_multiplier: z.number().min(1).max(100).optional(),
  walltime_max: runtimeSchema.optional(),
});

export const retriesSchema = policySchema.extend({ stages: z.record(z.string(), policySchema).optional() });
export type RetrySettings = z.output<typeof retriesSchema>;

export interface RetryPolicy {
  /** Attempts after the first. */
  count: number;
  /** Exit codes that mean a science failure: never retried. */
  never: number[];
  memoryMultiplier: number;
  memoryMaxMB?: number;
  walltimeMultiplier: number;
  walltimeMaxSeconds?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { count: 0, never: [], memoryMultiplier: 2, walltimeMultiplier: 1.5 };

/** The policy of one stage: default < site < site's stage < run < run's stage. */
export function retryPolicy(stage: string, ...layers: (RetrySettings | undefined)[]): RetryPolicy {
  const p = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    for (const l of [layer, layer?.stages?.[stage]]) {
      if (!l) continue;
      if (l.count !== undefined) p.count = l.count;
      if (l.never !== undefined) p.never = l.never;
      if (l.memory_multiplier !== undefined) p.memoryMultiplier = l.memory_multiplier;
      if (l.memory_max !== undefined) p.memoryMaxMB = l.memory_max;
      if (l.walltime_multiplier !== undefined) p.walltimeMultiplier = l.walltime_multiplier;
      if (l.walltime_max !== undefined) p.walltimeMaxSeconds = l.walltime_max;
    }
  }
  return p;
}

/**
 * Why a failed attempt is not tried again ('' when retries are off), or undefined when it may be:
 * its exit code is a science failure, or `retriesSoFar` used them all.
 */
export function notRetried(p: RetryPolicy, retriesSoFar: number, exitCode: number | undefined): string | undefined {
  if (exitCode !== undefined && p.never.includes(exitCode)) return `not retried: exit code ${exitCode} is in retries.never`;
  if (retriesSoFar >= p.count) return p.count ? `not retried: ${p.count} retries used` : '';
  return undefined;
}
