import { existsInWorkspace } from '../util/consulted';
import { isAbsolute, join, posix } from 'node:path';
import { z } from 'zod';
import type { CampaignBlock } from '../model/run';
import type { Arg, Stage } from '../model/stage';
import { configError, ConfigError, type Problem } from '../format/errors';
import { environmentSchema, mergeResources, resourcesSchema, runtimeSchema, type ResourcesInput } from '../format/resources';
import { loadCeciPipeline, loadStagesConfig, type CeciSite } from './ceci';
import { splitExecutable } from './executable';
import { validate } from '../format/validate';
import { readYamlFile, type YamlFile } from '../format/yaml-file';
import { pyStr } from '../util/python-str';

/** What a run layers over its pipelines, and how it runs them. */
export interface RunLayer {
  /** The run file (absent for a pipeline file run alone), where `config.<stage>` overrides are. */
  source?: YamlFile;
  /** stage name (or `global`) -> key -> value. */
  config: Record<string, Record<string, unknown>>;
  resources: Record<string, ResourcesInput>;
  /** Unknown config keys and unused global keys are errors, not warnings (ceci dialect). */
  strict: boolean;
  /** The run's output folder as written, for the paths ceci puts on command lines. */
  outputDir: string;
  /** A ceci `site:` mapping the run gives, over the pipeline's. */
  site?: CeciSite;
  /** Folders the run adds to the import path (ceci's `python_paths`), before the pipeline's. */
  pythonPaths?: string[];
}

export interface Pipeline {
  name: string;
  /** Workspace-relative folder. */
  dir: string;
  file: string;
  stages: Stage[];
  campaign?: CampaignBlock;
  /** Config option names of the stage classes in use (ceci dialect), for the run's `config.global`. */
  optionNames?: Set<string>;
  /** ceci's `site.max_threads`. */
  maxThreads?: number;
  yaml: YamlFile;
  warnings: Problem[];
}

/** Where a pipeline named in a run file is: this project's layout, then lbg-pipelines' (configs/pipelines). */
export const PIPELINE_DIRS = ['pipelines', 'configs/pipelines'];

/**
 * The file of a pipeline a run names: a path to a YAML file (ceci and socm users keep theirs
 * anywhere), else `<dir>/<name>/pipeline.yaml` in one of PIPELINE_DIRS.
 */
export function pipelineFile(wsRoot: string, name: string): string | undefined {
  if (/\.ya?ml$/.test(name)) return existsInWorkspace(wsRoot, posix.normalize(name)) ? posix.normalize(name) : undefined;
  return PIPELINE_DIRS.flatMap((d) => ['pipeline.yaml', 'pipeline.yml'].map((f) => posix.join(d, name, f))).find((f) => existsInWorkspace(wsRoot, f));
}

/** Load a pipeline a run names, in either dialect. */
export function loadPipeline(wsRoot: string, name: string, layer: RunLayer): Pipeline {
  const file = pipelineFile(wsRoot, name);
  if (!file) {
    throw configError({ file: name, message: `pipeline "${name}" not found`, fix: `create ${posix.join(PIPELINE_DIRS[0], name, 'pipeline.yaml')}, or name the pipeline file (a path ending in .yaml or .yml), or correct the name in the run file` });
  }
  const base = posix.basename(file).replace(/\.ya?ml$/, '');
  return loadPipelineFile(wsRoot, file, base === 'pipeline' ? posix.basename(posix.dirname(file)) : base, layer);
}

/** A pipeline file in either dialect, detected from the shape of `stages:`. */
export function loadPipelineFile(wsRoot: string, file: string, name: string, layer: RunLayer): Pipeline {
  return loadPipelineYaml(wsRoot, readYamlFile(join(wsRoot, file), file), name, layer);
}

export function loadPipelineYaml(wsRoot: string, y: YamlFile, name: string, layer: RunLayer): Pipeline {
  const dir = posix.dirname(y.file);
  const stages = (y.data as { stages?: unknown })?.stages;
  if (Array.isArray(stages)) {
    const p = loadCeciPipeline(wsRoot, y, name, dir, layer);
    return { name, dir, file: y.file, stages: p.stages, warnings: p.warnings, optionNames: p.optionNames, maxThreads: p.maxThreads, yaml: y };
  }
  if (stages && typeof stages === 'object') return loadSocmPipeline(wsRoot, y, name, dir, layer);
  throw configError({ file: y.file, line: y.lineOf(['stages']), key: 'stages', message: '`stages:` is missing or empty', fix: 'list the stages: a list of {name, classname} (ceci dialect) or a mapping of stage name -> {executable, script, depends, resources} (socm DAG dialect)' });
}

// ---------------------------------------------------------------- socm DAG dialect

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const socmStageSchema = z.strictObject({
  executable: z.string(),
  script: z.string().optional(),
  'script-args': z.array(scalar).nullish(),
  'script-kwargs': z.record(z.string(), z.union([scalar, z.array(scalar)])).nullish(),
  'script-flags': z.array(z.string()).nullish(),
  depends: z.array(z.string()).nullish(),
  resources: resourcesSchema.optional(),
  environment: environmentSchema.optional(),
  inputs: z.array(z.string()).optional(),
  outputs: z.array(z.string()).optional(),
  'base-path': z.string().optional(),
});

export const campaignBlockSchema = z.looseObject({
  deadline: runtimeSchema.optional(),
  resource: z.string().optional(),
  execution_schema: z.string().optional(),
  requested_resources: z.number().int().positive().optional(),
  'base-path': z.string().optional(),
});

const socmSchema = z.looseObject({
  campaign: campaignBlockSchema.optional(),
  // Stage names are checked with every dialect's, when the DAG is built.
  stages: z.record(z.string(), socmStageSchema),
});

function loadSocmPipeline(wsRoot: string, y: YamlFile, name: string, dir: string, overrides: RunLayer): Pipeline {
  const p = validate(socmSchema, y, y.data, [], () => 'see the socm DAG format in README.md ("Pipelines")');
  const warnings = [...y.warnings];
  const cfgFile = posix.join(dir, 'config.yaml');
  const cfg = existsInWorkspace(wsRoot, cfgFile) ? loadStagesConfig(wsRoot, y, dir, 'config.yaml') : undefined;
  if (cfg) {
    const names = new Set(Object.keys(p.stages));
    const problems = Object.keys(cfg.sections)
      .filter((s) => !names.has(s))
      .map((s): Problem => ({ file: cfg.y.file, line: cfg.y.lineOf([s]), key: s, message: `section "${s}" does not name a stage of this pipeline`, fix: `use one of: ${[...names].join(', ')}` }));
    if (problems.length) throw new ConfigError(problems);
  }
  const problems: Problem[] = [];
  const stages = Object.entries(p.stages).map(([stageName, s]): Stage => {
    const at = (...key: (string | number)[]) => ({ file: y.file, line: y.lineOf(['stages', stageName, ...key]), key: ['stages', stageName, ...key].join('.') });
    const outputs = (s.outputs ?? []).map((o, i) => {
      const path = normalizeDataPath(o, () => at('outputs', i), problems);
      return { key: path, path };
    });
    const inputs = (s.inputs ?? []).map((o, i) => normalizeDataPath(o, () => at('inputs', i), problems));
    const outputSet = new Set(outputs.map((o) => o.path));
    const inputSet = new Set(inputs);
    const fileArg = (prefix: string, value: string): Arg => {
      const norm = posix.normalize(value);
      return outputSet.has(norm) ? { prefix, output: norm } : inputSet.has(norm) ? { prefix, input: norm } : prefix + value;
    };
    const kwargs: Record<string, unknown> = { ...(s['script-kwargs'] ?? {}), ...(cfg?.sections[stageName] ?? {}), ...(overrides.config[stageName] ?? {}) };
    // Located only when wrong: a line look-up parses the whole file again, with yaml.
    const argv: Arg[] = splitExecutable(s.executable, () => at('executable'));
    // socm's base-path: the folder the stage runs in, which its relative paths mean.
    const basePath = s['base-path'] ?? p.campaign?.['base-path'];
    const script = s.script && !isAbsolute(s.script) ? scriptFile(wsRoot, dir, basePath, s.script) : undefined;
    if (s.script) {
      if (s.script.includes(' ')) warnings.push({ ...at('script'), message: `script path "${s.script}" contains a space; it is passed as one argument`, fix: 'check the path: socm examples have a stray space here' });
      argv.push(script ? { prefix: '', file: script } : s.script);
    }
    for (const a of s['script-args'] ?? []) argv.push(fileArg('', String(a)));
    for (const f of s['script-flags'] ?? []) argv.push(`--${f}`);
    // socm sorts them and prints each as Python's str() would.
    for (const k of Object.keys(kwargs).sort()) argv.push(fileArg(`--${k}=`, pyStr(kwargs[k])));
    return {
      name: stageName,
      pipeline: name,
      argv,
      env: s.environment ?? {},
      inputs,
      outputs,
      depends: s.depends ?? [],
      resources: mergeResources(s.resources, overrides.resources[stageName]),
      config: kwargs,
      definitionFiles: script ? [script] : [],
      source: { file: y.file, key: ['stages', stageName] },
      ...(basePath !== undefined ? { cwd: posix.normalize(basePath) } : {}),
    };
  });
  if (problems.length) throw new ConfigError(problems);
  return { name, dir, file: y.file, stages, campaign: p.campaign, warnings, yaml: y };
}

/**
 * A stage's script, workspace-relative (or absolute): against its base-path when it has one; else
 * beside the pipeline file, or, when it is not there, from the workspace root (socm's launch folder).
 */
function scriptFile(wsRoot: string, dir: string, basePath: string | undefined, script: string): string {
  if (basePath !== undefined) return posix.normalize(posix.join(basePath, script));
  const beside = posix.join(dir, script);
  return existsInWorkspace(wsRoot, beside) || !existsInWorkspace(wsRoot, script) ? beside : posix.normalize(script);
}

function normalizeDataPath(path: string, at: () => Omit<Problem, 'message'>, problems: Problem[]): string {
  const norm = posix.normalize(path);
  if (posix.isAbsolute(norm) || norm.startsWith('..') || norm === '.' || norm === './') {
    problems.push({ ...at(), message: `"${path}" is not inside the run's output folder${norm.startsWith('.') && !norm.startsWith('..') ? ' (it is the folder itself)' : ''}`, fix: 'write it relative to the output folder, e.g. maps/map.fits' });
  }
  return norm;
}
