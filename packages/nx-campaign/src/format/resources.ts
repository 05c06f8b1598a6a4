import { z } from 'zod';
import { ENV_NAME_PATTERN } from './names';
import { parseMemoryMB, parseRuntimeSeconds, type QuantityResult } from './quantities';

/** What a stage needs: cores as ranks x threads, memory, runtime. */
export interface Resources {
  ranks: number;
  threads: number;
  /** Nodes requested explicitly (ceci `nodes`); otherwise derived by the planner. */
  nodes?: number;
  /**
   * Memory on each node it runs on, MB (10^6 bytes): what `--mem`, `srun --mem` and the local
   * reservation hold. Given only a total (`memoryTotalMB`), the same total: no node needs more.
   */
  memoryMBPerNode: number;
  /**
   * Memory over all its nodes together, MB, when the stage was given it so (socm's `memory`):
   * the plan divides it over the nodes it spans.
   */
  memoryTotalMB?: number;
  runtimeSeconds: number;
}

export const DEFAULT_RESOURCES: Resources = { ranks: 1, threads: 1, memoryMBPerNode: 2000, runtimeSeconds: 3600 };

function quantity(parse: (v: unknown) => QuantityResult) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const r = parse(v);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: `${r.error}; ${r.fix}` });
      return z.NEVER;
    }
    return r.value;
  });
}

export const memorySchema = quantity(parseMemoryMB);
export const runtimeSchema = quantity(parseRuntimeSeconds);
const count = (max: number) => z.number().int().positive().max(max);

/** `resources:` as written in socm DAG stages, stage types and run overrides. */
export const resourcesSchema = z.strictObject({
  ranks: count(1_000_000).optional(),
  threads: count(10_000).optional(),
  nodes: count(100_000).optional(),
  memory: memorySchema.optional(),
  runtime: runtimeSchema.optional(),
});
/** `memory` is per node; `memoryTotal` (socm's `memory`) is over all the stage's nodes together. */
export type ResourcesInput = z.output<typeof resourcesSchema> & { memoryTotal?: number };

/** Later layers win; unset fields fall back to the defaults. */
export function mergeResources(...layers: (ResourcesInput | undefined)[]): Resources {
  const r: Resources = { ...DEFAULT_RESOURCES };
  for (const l of layers) {
    if (!l) continue;
    if (l.ranks !== undefined) r.ranks = l.ranks;
    if (l.threads !== undefined) r.threads = l.threads;
    if (l.nodes !== undefined) r.nodes = l.nodes;
    if (l.memory !== undefined) {
      r.memoryMBPerNode = l.memory;
      delete r.memoryTotalMB;
    }
    if (l.memoryTotal !== undefined) r.memoryMBPerNode = r.memoryTotalMB = l.memoryTotal;
    if (l.runtime !== undefined) r.runtimeSeconds = l.runtime;
  }
  return r;
}

/** `environment:` tables: shell variable names, values as text. */
export const environmentSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).superRefine((env, ctx) => {
  for (const k of Object.keys(env)) {
    if (!ENV_NAME_PATTERN.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `${JSON.stringify(k)} is not an environment variable name: letters, digits and _, not starting with a digit` });
  }
});
