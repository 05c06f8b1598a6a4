import type { Problem } from '../format/errors';
import type { RetrySettings } from '../format/retries';
import type { Stage } from './stage';

/** Where stages execute: this machine, SLURM jobs, or srun steps inside the current allocation. */
export const BACKENDS = ['local', 'slurm', 'allocation'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Where a consumed data key comes from. */
export type InputSource =
  | { kind: 'stage'; stage: string; path: string }
  | { kind: 'run-input'; tag: string; path: string };

export interface Dag {
  /** Topological order; ties broken by declaration order. */
  order: string[];
  stages: Map<string, Stage>;
  parents: Map<string, string[]>;
  children: Map<string, string[]>;
  /** stage -> consumed key -> source. */
  sources: Map<string, Map<string, InputSource>>;
}


export type ResumeMode = 'resume' | 'restart' | 'refuse';

/** socm's `campaign:` block (deadline in seconds), kept for planning. */
export interface CampaignBlock {
  deadline?: number;
  resource?: string;
  execution_schema?: string;
  requested_resources?: number;
}

export interface PipelineInfo {
  name: string;
  /** Workspace-relative pipeline file. */
  file: string;
  campaign?: CampaignBlock;
}

export interface Run {
  name: string;
  /** Workspace-relative run file. */
  file: string;
  /** Workspace-relative (or absolute) folders. */
  outputDir: string;
  logDir: string;
  /** tag -> workspace-relative (or absolute) path. */
  inputs: Record<string, string>;
  /** Tags the run gives as null (ceci passes `--<tag>=None`). */
  noneInputs?: string[];
  /** The output folder and inputs as the files wrote them: ceci's commands show paths so. */
  written?: { outputDir: string; inputs: Record<string, string> };
  /** Cores this machine may give the run at once (ceci's `site.max_threads`). */
  maxCores?: number;
  resume: ResumeMode;
  preScript: string;
  postScript: string;
  pipelines: PipelineInfo[];
  /** The whole DAG of the run's pipelines, before trimming. */
  dag: Dag;
  /** Stages the run executes (after `from`/`to`), in topological order. */
  stages: string[];
  warnings: Problem[];
  /** Planning keys of the run file: site name, allocation cap (cores or nodes), deadline in seconds. */
  site?: string;
  /** Where stages execute, when the run file says (else the site's backend). */
  backend?: Backend;
  requestedResources?: number;
  nodes?: number;
  deadline?: number;
  /** The run file's `retries:` block. */
  retries?: RetrySettings;
}

/** Names of runs, sites and QoS: what Nx project names and SLURM accept. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function runNameOf(file: string): string {
  return file.replace(/^.*\//, '').replace(/\.(ya?ml|toml)$/, '');
}

/** A run as plain JSON (the DAG's maps as entry lists), for the run cache. */
export type RunSnapshot = Omit<Run, 'dag'> & { dag: { order: string[]; stages: Stage[]; parents: [string, string[]][]; sources: [string, [string, unknown][]][] } };

export function toSnapshot(run: Run): RunSnapshot {
  const { dag } = run;
  return {
    ...run,
    dag: {
      order: dag.order,
      stages: [...dag.stages.values()],
      parents: [...dag.parents],
      sources: [...dag.sources].map(([s, m]) => [s, [...m]]),
    },
  };
}

export function fromSnapshot(snap: RunSnapshot): Run {
  const parents = new Map(snap.dag.parents);
  const children = new Map<string, string[]>(snap.dag.order.map((n) => [n, []]));
  for (const [n, ps] of parents) for (const p of ps) children.get(p)!.push(n);
  return {
    ...snap,
    dag: {
      order: snap.dag.order,
      stages: new Map(snap.dag.stages.map((s) => [s.name, s])),
      parents,
      children,
      sources: new Map(snap.dag.sources.map(([s, m]) => [s, new Map(m)])) as Dag['sources'],
    },
  };
}
