/**
 * The one stage model every pipeline dialect compiles to. Paths are workspace-relative
 * (or absolute when the user wrote them so); produced files are relative to the run's
 * output folder. Nothing here says which dialect a stage came from.
 */
import type { Resources } from '../format/resources';

/**
 * One argument of a stage's command: literal text, or a path resolved at run time:
 * a consumed data key, a produced output (written under its in-progress name), or a
 * workspace file (made absolute). `asWritten` (ceci's stages): the path as the run and
 * pipeline files wrote it, relative to the folder the stage runs in, and an output under
 * its final name (the stage writes `inprogress_` files and renames them itself); a run input
 * given as null is `None`.
 */
export type Arg = string | { prefix: string; input: string; asWritten?: true } | { prefix: string; output: string; asWritten?: true } | { prefix: string; file: string };

export interface StageOutput {
  /** Data key other stages consume it by: a ceci tag (after aliases) or the path itself. */
  key: string;
  /** Path relative to the run's output folder. */
  path: string;
}

export interface Stage {
  name: string;
  pipeline: string;
  argv: Arg[];
  env: Record<string, string>;
  /** Data keys consumed: tags, or paths relative to the output folder. */
  inputs: string[];
  outputs: StageOutput[];
  /** Explicit dependencies, by stage name. */
  depends: string[];
  /** What it runs with: as declared, or as the record's history raised it (store/history.ts). */
  resources: Resources;
  /** As its files declare them, when history changed `resources`. */
  declared?: Resources;
  /** Resolved configuration, shown to users and part of the stage's identity. */
  config: Record<string, unknown>;
  /** Workspace files whose contents define what the stage does (its script, stage type file). */
  definitionFiles: string[];
  /**
   * Files it reads that no stage writes and the run does not give as inputs: a socm workflow's
   * `file://` values (context and its obsdb, area, preprocessing config, obs list). They must
   * exist before it runs.
   */
  reads?: string[];
  /** Files written just before it starts (absolute path -> content), e.g. a null-test split's obs list. */
  files?: Record<string, string>;
  /**
   * The stages config it reads (ceci), when the run overrides the pipeline's: absolute path and
   * content, written before it starts. Left out of its fingerprint, which has its share (`config`).
   */
  configFile?: { path: string; content: string };
  /** What a workflow type gave this stage beyond its command (e.g. a split's obs ids), shown by `dry-run --json`. */
  given?: Record<string, unknown>;
  /** The folder it runs in (workspace-relative or absolute): socm's `base-path`, ceci's launch folder. Default: the run's output folder. */
  cwd?: string;
  /**
   * How this machine starts it with more than one rank (ceci's site `mpi_command`, e.g.
   * `mpirun -n`): these words, then the rank count, then the command. Cluster backends use srun.
   */
  mpiLauncher?: string[];
  /** Folders put before PYTHONPATH when it runs, absolute (ceci's `python_paths`). */
  pythonPath?: string[];
  /**
   * What the engine checks on the submitting machine: `before` it is submitted (a quantum-graph
   * build, a review gate; a failure stops it with nothing queued), `after` it exited 0 (its
   * datasets exist; a failure fails it).
   */
  checks?: { before?: StageCheck[]; after?: StageCheck[] };
  /** Where it is declared: file and key path (lines are looked up only for messages). */
  source: { file: string; key: (string | number)[] };
}

/**
 * `command`: exits 0, or its output says why not. `datasets`: the butler collection holds a
 * dataset of each type. `accepted`: step `step` of the run was accepted (`campaign accept`).
 */
export type StageCheck =
  | { kind: 'command'; what: string; argv: (string | { prefix: string; file: string })[] }
  | { kind: 'datasets'; butler: string; collection: string; datasetTypes: string[] }
  | { kind: 'accepted'; step: string };

export function coresOf(r: Resources): number {
  return r.ranks * r.threads;
}
