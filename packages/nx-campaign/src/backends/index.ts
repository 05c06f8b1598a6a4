import type { Backend } from '../engine/backend';
import { CampaignError } from '../format/errors';
import type { Run } from '../model/run';
import { allocationBackend } from './allocation';
import { bpsBackend } from './bps';
import { withBps } from './bps/mixed';
import { localBackend } from './local';
import { slurmBackend } from './slurm';

export interface BackendOptions {
  wsRoot: string;
  dataDir: string;
  print: (line: string) => void;
  signal?: AbortSignal;
  /** Seconds between SLURM polls. */
  pollSeconds: number;
  /** The runs it will execute (the local backend caps cores by their site.max_threads). */
  runs: Run[];
}

/** A backend by name (model/run.ts BACKENDS); a Rubin campaign's groups in bps mode go to BPS. */
export async function createBackend(name: string, opts: BackendOptions): Promise<Backend> {
  const primary = await backendNamed(name, opts);
  const bps = opts.runs.some((r) => r.stages.some((s) => r.dag.stages.get(s)!.config.mode === 'bps'));
  return bps ? withBps(primary, bpsBackend(opts)) : primary;
}

async function backendNamed(name: string, opts: BackendOptions): Promise<Backend> {
  switch (name) {
    case 'local':
      return localBackend(opts.runs, opts);
    case 'allocation':
      return allocationBackend(opts);
    case 'slurm':
      return slurmBackend(opts);
    default:
      throw new CampaignError(`unknown backend ${name}`);
  }
}
