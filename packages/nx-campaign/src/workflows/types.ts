import { CampaignError } from '../format/errors';
import type { z } from 'zod';
import type { ObsColumn, Observation } from './obsdb';

/** What a workflow type may ask while it turns its table into stages. */
export interface WorkflowContext {
  wsRoot: string;
  /** Workspace-relative campaign file. */
  file: string;
  /** The workflow's table, e.g. `ml-null-tests.wafer-tests`: stage names start with it. */
  table: string;
  /** `file://x` -> absolute (relative to the workspace root); other values unchanged. */
  path(value: string): string;
  /** An absolute folder for a workflow's `output_dir` (relative to the workspace root). */
  folder(value: string): string;
  /**
   * The observations `query` selects from the obsdb of `context` (a `file://` context YAML), in
   * obs_id order. Throws MissingObsdb when the context or obsdb is not on this machine.
   */
  observations(context: string, query: string, columns?: ObsColumn[]): Observation[];
  /** Keys of the workflow's table that TOML wrote as floats (`2.0`): socm prints them as Python floats. */
  floats: ReadonlySet<string>;
  /** A warning located at the workflow's table (or at `key` in it). */
  warn(message: string, fix?: string, key?: string): void;
}

/** One program run a workflow produces. */
export interface WorkflowStage {
  /** Unique in the campaign; by convention `<table>` or `<table>.<part>`. */
  name: string;
  argv: string[];
  /** Files written just before it starts (absolute path -> content), e.g. its obs list. */
  files?: Record<string, string>;
  /** Names of stages of the same campaign that must succeed first. */
  depends?: string[];
  /** Files it writes (absolute, or relative to the workspace root): other stages may read them. */
  outputs?: string[];
  /** Files it reads that other stages of the campaign write: it runs after them. */
  inputs?: string[];
  /** Workspace files whose content defines what it does (a script), for caching. */
  definitionFiles?: string[];
  /** What it was given beyond its command (e.g. a split's obs ids), shown by `dry-run --json`. */
  given?: Record<string, unknown>;
}

/**
 * A workflow type: its options (a zod object schema; unknown keys are errors) and how a table
 * of them becomes stages. Built-ins are declared the same way as a workspace's own types.
 */
export interface WorkflowType<O = Record<string, unknown>> {
  name: string;
  description: string;
  options: z.ZodType<O>;
  /**
   * socm's types: a key the schema does not name is kept (the schema must be loose) and passed
   * to the program as `--key=value`, with a warning when it looks like a typo of a known one.
   */
  forwardsUnknownOptions?: boolean;
  /** Default resources of its stages (`[campaign.<type>.resources]` wins), e.g. { threads: 8, memory: '16G' }. */
  resources?: { ranks?: number; threads?: number; nodes?: number; memory?: string; runtime?: string };
  stages(options: O, ctx: WorkflowContext): WorkflowStage[];
}

export function defineWorkflow<O>(w: WorkflowType<O>): WorkflowType<O> {
  return w;
}

/** A mistake in one option of a workflow's table: reported at that key. */
export class WorkflowOptionError extends CampaignError {
  override name = 'WorkflowOptionError';
  constructor(readonly key: string, message: string, readonly fix?: string) {
    super(message);
  }
}
