import { z } from 'zod';
import { memorySchema, runtimeSchema } from './resources';

/** Infrastructure failures' own retries (0..100), or `count`: they share `count` with the others. */
const infrastructureSchema = z.custom<number | 'count'>((v) => v === 'count' || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100), {
  error: 'must be an integer from 0 to 100 (retries of infrastructure failures, besides count) or "count" (they use up count like any failure)',
});

/**
 * Retries, as a run file's or a site's `retries:` block (BPS's numberOfRetries, retryUnlessExit,
 * memoryMultiplier and requestMemoryMax). Per-stage keys under `stages:` win over the block's,
 * the run's over the site's.
 */
const policySchema = z.strictObject({
  count: z.number().int().min(0).max(100).optional(),
  infrastructure: infrastructureSchema.optional(),
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
  /** Retries of infrastructure failures, not counted in `count`; `count`: they are counted in it. */
  infrastructure: number | 'count';
  /** Exit codes that mean a science failure: never retried. */
  never: number[];
  memoryMultiplier: number;
  memoryMaxMB?: number;
  walltimeMultiplier: number;
  walltimeMaxSeconds?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { count: 0, infrastructure: 3, never: [], memoryMultiplier: 2, walltimeMultiplier: 1.5 };

/** The policy of one stage: default < site < site's stage < run < run's stage. */
export function retryPolicy(stage: string, ...layers: (RetrySettings | undefined)[]): RetryPolicy {
  const p = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    for (const l of [layer, layer?.stages?.[stage]]) {
      if (!l) continue;
      if (l.count !== undefined) p.count = l.count;
      if (l.infrastructure !== undefined) p.infrastructure = l.infrastructure;
      if (l.never !== undefined) p.never = l.never;
      if (l.memory_multiplier !== undefined) p.memoryMultiplier = l.memory_multiplier;
      if (l.memory_max !== undefined) p.memoryMaxMB = l.memory_max;
      if (l.walltime_multiplier !== undefined) p.walltimeMultiplier = l.walltime_multiplier;
      if (l.walltime_max !== undefined) p.walltimeMaxSeconds = l.walltime_max;
    }
  }
  return p;
}

/** Whether a failure of a stage with this policy may be tried again (for some class of failure). */
export function mayRetry(p: RetryPolicy): boolean {
  return p.count > 0 || (p.infrastructure !== 'count' && p.infrastructure > 0);
}
