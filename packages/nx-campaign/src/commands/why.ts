/**
 * `campaign why <run> [<stage>] [--json]`: for each stage, whether it would run now or is
 * cached, and why in one line (a file, config key, input or parent that changed since the
 * attempt that made its outputs, an output gone missing, or nothing); and why its last attempt ran.
 */
import { CampaignError } from '../format/errors';
import { stageFingerprintParts, type FingerprintParts } from '../graph/fingerprint';
import { CampaignRecord } from '../store/record';
import { endOf, stageChange } from '../store/recorder';
import { loadRunArg } from './record-commands';

export interface WhyRow {
  stage: string;
  /** What `nx run-many -t stage` would do with it now. */
  verdict: 'runs' | 'cached';
  why: string;
  /** The latest attempt: its number, state, end and why it ran. */
  last?: { attempt: number; state: string; endedAt: string | null; reason: string | null };
}

export function whyRows(wsRoot: string, runArg: string, stage?: string): { run: string; rows: WhyRow[] } {
  const run = loadRunArg(wsRoot, runArg);
  if (stage && !run.stages.includes(stage)) throw new CampaignError(`${run.name} has no stage ${stage}\n  fix: campaign report ${run.name} lists its stages`);
  const now = stageFingerprintParts(wsRoot, run);
  const rec = CampaignRecord.openExisting(wsRoot);
  const runs = new Set<string>();
  try {
    const rows = run.stages.map((name): WhyRow => {
      const h = rec?.fingerprintHistory(run.name, name) ?? {};
      const last = h.last && { attempt: h.last.attempt, state: h.last.state, endedAt: h.last.ended_at, reason: h.last.reason };
      const verdict = (why: string, runsNow: boolean): WhyRow => {
        if (runsNow) runs.add(name);
        return { stage: name, verdict: runsNow ? 'runs' : 'cached', why, ...(last ? { last } : {}) };
      };
      const parentRuns = run.dag.parents.get(name)!.filter((p) => runs.has(p));
      if (!h.succeeded) return verdict(h.last ? `its last attempt (${h.last.attempt}) did not succeed: ${endOf(h.last)}` : 'it has never run', true);
      if (!h.succeeded.fingerprint_parts) return verdict(`attempt ${h.succeeded.attempt} succeeded before fingerprints were recorded: its parts cannot be compared`, parentRuns.length > 0);
      const change = stageChange(wsRoot, run, name, JSON.parse(h.succeeded.fingerprint_parts) as FingerprintParts, now.get(name)!.parts);
      if (change) return verdict(change, true);
      if (parentRuns.length) return verdict(`parent ${parentRuns.join(', ')} runs again first`, true);
      return verdict(`nothing changed since attempt ${h.succeeded.attempt} (${h.succeeded.ended_at?.replace('T', ' ').slice(0, 19) ?? '?'})`, false);
    });
    return { run: run.name, rows: stage ? rows.filter((r) => r.stage === stage) : rows };
  } finally {
    rec?.close();
  }
}

export function why(wsRoot: string, runArg: string, stage?: string, o: { json?: boolean } = {}): string {
  const { run, rows } = whyRows(wsRoot, runArg, stage);
  if (o.json) return `${JSON.stringify({ run, stages: rows }, null, 2)}\n`;
  const w = Math.max(...rows.map((r) => r.stage.length));
  const lines = rows.map((r) => `${r.stage.padEnd(w)}  ${r.verdict === 'runs' ? 'runs: ' : 'cached: '}${r.why}${r.last?.reason ? `\n${' '.repeat(w)}  last ran (attempt ${r.last.attempt}, ${r.last.state}): ${r.last.reason}` : ''}`);
  const n = rows.filter((r) => r.verdict === 'runs').length;
  return `run ${run}: ${n} of ${rows.length} stage(s) would run now${n ? ` (npx nx run-many -t stage --projects=tag:run:${run})` : ''}\n${lines.join('\n')}\n`;
}
