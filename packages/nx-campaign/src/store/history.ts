import type { Run } from '../model/run';
import { WALLTIME_SAFETY } from '../planning/plan-run';
import { configHash, type CampaignRecord } from './record';

export interface StageHistory {
  /** What the pipeline declares. */
  declaredSeconds: number;
  declaredMemoryMB: number;
  /** Median of the recent successful attempts of this stage and configuration. */
  measuredSeconds?: number;
  /** Median peak memory of those attempts, where the backend could read it. */
  measuredPeakMB?: number;
  samples: number;
  /** Kept from an earlier out-of-memory or timeout retry. */
  tunedMemoryMB?: number;
  tunedWalltimeSeconds?: number;
}

/**
 * The run with what the record learned: a stage's runtime estimate becomes the median measured
 * runtime of its configuration (or at least the walltime a timeout escalated to, over the
 * safety factor), its memory at least what an out-of-memory retry escalated to.
 */
export function withHistory(run: Run, rec: CampaignRecord): { run: Run; history: Map<string, StageHistory> } {
  const history = new Map<string, StageHistory>();
  const stages = new Map(run.dag.stages);
  for (const name of run.stages) {
    const s = stages.get(name)!;
    const hash = configHash(run, name);
    const m = rec.measured(s.pipeline, name, hash);
    const t = rec.tuning(s.pipeline, name, hash);
    if (!m.samples && t.memoryMB === undefined && t.walltimeSeconds === undefined) continue;
    const h: StageHistory = { declaredSeconds: s.resources.runtimeSeconds, declaredMemoryMB: s.resources.memoryMBPerNode, measuredSeconds: m.seconds, measuredPeakMB: m.peakMemoryMB, samples: m.samples, tunedMemoryMB: t.memoryMB, tunedWalltimeSeconds: t.walltimeSeconds };
    history.set(name, h);
    // Measured times of short stages round to 0: plan at least a second.
    let runtimeSeconds = m.seconds !== undefined ? Math.max(1, m.seconds) : s.resources.runtimeSeconds;
    if (t.walltimeSeconds !== undefined) runtimeSeconds = Math.max(runtimeSeconds, t.walltimeSeconds / WALLTIME_SAFETY);
    const memoryMBPerNode = Math.max(s.resources.memoryMBPerNode, t.memoryMB ?? 0);
    stages.set(name, { ...s, resources: { ...s.resources, runtimeSeconds, memoryMBPerNode }, declared: s.declared ?? s.resources });
  }
  return { run: history.size ? { ...run, dag: { ...run.dag, stages } } : run, history };
}
