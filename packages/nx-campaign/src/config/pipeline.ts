import { existsInWorkspace } from '../util/consulted';
import { isAbsolute, join, posix } from 'node:path';
import { parse as parseShell } from 'shell-quote';
import { z } from 'zod';
import type { CampaignBlock } from '../model/run';
import type { Arg, Stage, StageOutput } from '../model/stage';
import { configError, ConfigError, type Problem } from './errors';
import { mergeResources, resourcesSchema, runtimeSchema, type ResourcesInput } from './resources';
import { loadStageModule, optionTypeMatches, resolveModuleFiles, type StageType } from './stage-types';
import { validate } from './validate';
import { readYamlFile, type YamlFile } from './yaml-file';
import { pyStr } from '../util/python-str';

/** What a run layers over a pipeline: per-stage config and resources. */
export interface StageOverrides {
  source: YamlFile;
  /** stage name (or `global`) -> key -> value, at `config.<stage>` in the source. */
  config: Record<string, Record<string, unknown>>;
  resources: Record<string, ResourcesInput>;
}

export interface Pipeline {
  name: string;
  /** Workspace-relative folder. */
  dir: string;
  file: string;
  stages: Stage[];
  campaign?: CampaignBlock;
  /** Stage types used (ceci dialect). */
  stageTypes?: StageType[];
  yaml: YamlFile;
  warnings: Problem[];
}

export function pipelineFile(name: string): string {
  return posix.join('pipelines', name, 'pipeline.yaml');
}

/** Load `pipelines/<name>/pipeline.yaml` in either dialect, detected from the shape of `stages:`. */
export function loadPipeline(wsRoot: string, name: string, overrides?: StageOverrides): Pipeline {
  const file = pipelineFile(name);
  if (!existsInWorkspace(wsRoot, file)) {
    throw configError({ file, message: `pipeline "${name}" not found`, fix: `create ${file}, or correct the pipeline name in the run file` });
  }
  return loadPipelineFile(wsRoot, file, name, overrides);
}

export function loadPipelineFile(wsRoot: string, file: string, name: string, overrides?: StageOverrides): Pipeline {
  const y = readYamlFile(join(wsRoot, file), file);
  const dir = posix.dirname(file);
  const stages = (y.data as { stages?: unknown })?.stages;
  if (Array.isArray(stages)) return loadCeciPipeline(wsRoot, y, name, dir, overrides);
  if (stages && typeof stages === 'object') return loadSocmPipeline(wsRoot, y, name, dir, overrides);
  throw configError({ file, line: y.lineOf(['stages']), key: 'stages', message: '`stages:` is missing or empty', fix: 'list the stages: a list of {name, classname} (ceci dialect) or a mapping of stage name -> {executable, script, depends, resources} (socm DAG dialect)' });
}

// ---------------------------------------------------------------- ceci / lbg dialect

const IGNORED_CECI_KEYS = ['launcher', 'site', 'python_paths', 'pipeline_log', 'resume', 'output_dir', 'log_dir', 'inputs'];

const ceciSchema = z.strictObject({
  modules: z.union([z.string(), z.array(z.string())]),
  config: z.string().optional(),
  stages: z.array(
    z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, _ . and -'),
      classname: z.string(),
      nprocess: z.number().int().positive().optional(),
      threads_per_process: z.number().int().positive().optional(),
      nodes: z.number().int().positive().optional(),
      aliases: z.record(z.string(), z.string()).default({}),
      memory: resourcesSchema.shape.memory,
      runtime: resourcesSchema.shape.runtime,
    }),
  ),
  ...Object.fromEntries(IGNORED_CECI_KEYS.map((k) => [k, z.unknown().optional()])),
});

function loadCeciPipeline(wsRoot: string, y: YamlFile, name: string, dir: string, overrides?: StageOverrides): Pipeline {
  const p = validate(ceciSchema, y, y.data, [], () => 'see the pipeline format in README.md ("Pipelines")');
  const warnings = [...y.warnings];
  for (const key of IGNORED_CECI_KEYS) {
    if ((p as Record<string, unknown>)[key] !== undefined) {
      warnings.push({ file: y.file, line: y.lineOf([key]), key, message: `"${key}" is ceci run configuration and is ignored here`, fix: 'set it in the run file (runs/<run>.yaml)' });
    }
  }
  const types = loadModules(wsRoot, y, dir, typeof p.modules === 'string' ? p.modules.split(/\s+/).filter(Boolean) : p.modules);
  let cfg: ConfigFile | undefined;
  if (p.config) {
    // ceci resolves it from where it was started; we look beside the pipeline, then from the workspace root.
    const file = [posix.join(dir, p.config), p.config].find((f) => existsInWorkspace(wsRoot, f));
    if (!file) throw configError({ file: y.file, line: y.lineOf(['config']), key: 'config', message: `config file "${p.config}" not found`, fix: `create ${posix.join(dir, p.config)} or correct the path (relative to the pipeline folder)` });
    cfg = loadConfigFile(wsRoot, file);
  }
  const stageNames = new Set(p.stages.map((s) => s.name));
  checkSectionsNameStages(cfg, stageNames, 'a stage of this pipeline');

  const problems: Problem[] = [];
  const stages = p.stages.map((entry, i): Stage => {
    const type = types.get(entry.classname);
    if (!type) {
      throw configError({ file: y.file, line: y.lineOf(['stages', i, 'classname']), key: `stages[${i}].classname`, message: `unknown stage type "${entry.classname}"`, fix: `declare it in one of the modules (${[...new Set([...types.values()].map((t) => t.file))].join(', ') || 'none loaded'}) or use one of: ${[...types.keys()].join(', ')}` });
    }
    for (const tag of Object.keys(entry.aliases)) {
      if (!(tag in type.inputs) && !(tag in type.outputs)) {
        problems.push({ file: y.file, line: y.lineOf(['stages', i, 'aliases', tag]), key: `stages[${i}].aliases.${tag}`, message: `"${tag}" is not an input or output tag of ${type.name}`, fix: `alias one of: ${[...Object.keys(type.inputs), ...Object.keys(type.outputs)].join(', ')}` });
      }
    }
    const config = resolveCeciConfig(entry.name, type, cfg, overrides, problems);
    const alias = (tag: string) => entry.aliases[tag] ?? tag;
    const argv: Arg[] = [...splitExecutable(type.executable, type.file, type.name)];
    if (type.script) argv.push({ prefix: '', file: posix.join(posix.dirname(type.file), type.script) });
    for (const tag of Object.keys(type.inputs)) argv.push({ prefix: `--${tag}=`, input: alias(tag) });
    const outputs: StageOutput[] = Object.entries(type.outputs).map(([tag, ext]) => ({ key: alias(tag), path: ext ? `${alias(tag)}.${ext}` : alias(tag) }));
    Object.keys(type.outputs).forEach((tag) => argv.push({ prefix: `--${tag}=`, output: alias(tag) }));
    for (const key of Object.keys(config).sort()) argv.push(`--${key}=${formatValue(config[key])}`);
    return {
      name: entry.name,
      pipeline: name,
      argv,
      env: type.environment,
      inputs: Object.keys(type.inputs).map(alias),
      outputs,
      depends: [],
      resources: mergeResources(type.resources, { ranks: entry.nprocess, threads: entry.threads_per_process, nodes: entry.nodes, memory: entry.memory, runtime: entry.runtime }, overrides?.resources[entry.name]),
      config,
      definitionFiles: type.script ? [type.file, posix.join(posix.dirname(type.file), type.script)] : [type.file],
      source: { file: y.file, key: ['stages', i] },
    };
  });
  const usedTypes = new Set(p.stages.map((s) => types.get(s.classname)!));
  if (cfg) problems.push(...unknownGlobalKeys(cfg.y, ['global'], cfg.sections.global, usedTypes));
  if (problems.length) throw new ConfigError(problems);
  return { name, dir, file: y.file, stages, warnings, stageTypes: [...usedTypes], yaml: y };
}

function loadModules(wsRoot: string, y: YamlFile, dir: string, modules: string[]): Map<string, StageType> {
  const types = new Map<string, StageType>();
  for (const { module, file } of resolveModuleFiles(wsRoot, dir, modules)) {
    if (!file) {
      throw configError({ file: y.file, line: y.lineOf(['modules']), key: 'modules', message: `stage module "${module}" not found`, fix: `create ${posix.join(dir, `${module}.yaml`)} (or stages/${module}.yaml to share it), or correct the name` });
    }
    for (const t of loadStageModule(wsRoot, file)) {
      const prior = types.get(t.name);
      if (prior) throw configError({ file, line: t.line, key: t.name, message: `stage type "${t.name}" is also declared in ${prior.file}`, fix: 'rename one of them' });
      types.set(t.name, t);
    }
  }
  return types;
}

interface ConfigFile {
  y: YamlFile;
  sections: Record<string, Record<string, unknown>>;
}

function loadConfigFile(wsRoot: string, file: string): ConfigFile {
  const c = readYamlFile(join(wsRoot, file), file);
  const sections = validate(z.record(z.string(), z.record(z.string(), z.unknown()).nullable().transform((v) => v ?? {})), c, c.data ?? {}, [], () => 'the config file has one mapping per stage name, plus `global:`');
  return { y: c, sections };
}

function checkSectionsNameStages(cfg: ConfigFile | undefined, stages: Set<string>, what: string) {
  if (!cfg) return;
  const problems = Object.keys(cfg.sections)
    .filter((s) => s !== 'global' && !stages.has(s))
    .map((s): Problem => ({ file: cfg.y.file, line: cfg.y.lineOf([s]), key: s, message: `section "${s}" does not name ${what}`, fix: `use one of: global, ${[...stages].join(', ')}` }));
  if (problems.length) throw new ConfigError(problems);
}

/** Run overrides > stage section > run `global` > pipeline `global` > default. Unknown keys are errors. */
function resolveCeciConfig(stage: string, type: StageType, cfg: ConfigFile | undefined, overrides: StageOverrides | undefined, problems: Problem[]): Record<string, unknown> {
  const layers: { y: YamlFile; base: string[]; values: Record<string, unknown>; global: boolean }[] = [];
  if (cfg?.sections.global) layers.push({ y: cfg.y, base: ['global'], values: cfg.sections.global, global: true });
  if (overrides?.config.global) layers.push({ y: overrides.source, base: ['config', 'global'], values: overrides.config.global, global: true });
  if (cfg?.sections[stage]) layers.push({ y: cfg.y, base: [stage], values: cfg.sections[stage], global: false });
  if (overrides?.config[stage]) layers.push({ y: overrides.source, base: ['config', stage], values: overrides.config[stage], global: false });
  const config: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(type.config)) if (option.default !== undefined) config[key] = option.default;
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      const option = type.config[key];
      const path = [...layer.base, key];
      const at = { file: layer.y.file, line: layer.y.lineOf(path), key: path.join('.') };
      if (!option) {
        if (!layer.global) problems.push({ ...at, message: `"${key}" is not a config option of stage type ${type.name} (stage ${stage})`, fix: `remove it, or declare it under ${type.name}.config in ${type.file}; known options: ${Object.keys(type.config).join(', ') || 'none'}` });
        continue;
      }
      if (!optionTypeMatches(option, value)) {
        problems.push({ ...at, message: `${JSON.stringify(value)} is not of type ${option.type}`, fix: `give a ${option.type} value` });
        continue;
      }
      config[key] = value;
    }
  }
  for (const [key, option] of Object.entries(type.config)) {
    if (option.required && config[key] === undefined) {
      problems.push({ file: cfg?.y.file ?? type.file, line: cfg?.y.lineOf([stage]), key: `${stage}.${key}`, message: `stage ${stage} needs config option "${key}" (${option.type}${option.help ? `: ${option.help}` : ''})`, fix: `set ${stage}: {${key}: ...} in the pipeline's config file or the run's config:` });
    }
  }
  return config;
}

/** Every `global:` key must be an option of some stage type in use. */
export function unknownGlobalKeys(source: YamlFile, base: string[], global: Record<string, unknown> | undefined, types: Iterable<StageType>): Problem[] {
  const known = new Set([...types].flatMap((t) => Object.keys(t.config)));
  return Object.keys(global ?? {})
    .filter((k) => !known.has(k))
    .map((k) => ({ file: source.file, line: source.lineOf([...base, k]), key: [...base, k].join('.'), message: `global option "${k}" is not an option of any stage`, fix: 'remove it or correct its name' }));
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
  environment: z.record(z.string(), scalar.transform(String)).optional(),
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
  stages: z.record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'stage names use letters, digits, _ . and -'), socmStageSchema),
});

function loadSocmPipeline(wsRoot: string, y: YamlFile, name: string, dir: string, overrides?: StageOverrides): Pipeline {
  const p = validate(socmSchema, y, y.data, [], () => 'see the socm DAG format in README.md ("Pipelines")');
  const warnings = [...y.warnings];
  const cfgFile = posix.join(dir, 'config.yaml');
  const cfg = existsInWorkspace(wsRoot, cfgFile) ? loadConfigFile(wsRoot, cfgFile) : undefined;
  checkSectionsNameStages(cfg, new Set(Object.keys(p.stages)), 'a stage of this pipeline');
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
    const kwargs: Record<string, unknown> = { ...(s['script-kwargs'] ?? {}), ...(cfg?.sections[stageName] ?? {}), ...(overrides?.config[stageName] ?? {}) };
    const argv: Arg[] = splitExecutable(s.executable, y.file, stageName);
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
      resources: mergeResources(s.resources, overrides?.resources[stageName]),
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
  if (posix.isAbsolute(norm) || norm.startsWith('..')) {
    problems.push({ ...at(), message: `"${path}" is not inside the run's output folder`, fix: 'write it relative to the output folder, e.g. maps/map.fits' });
  }
  return norm;
}

// ---------------------------------------------------------------- shared

/** `python -u` -> ['python', '-u']; shell operators are refused, never interpreted. */
export function splitExecutable(executable: string, file: string, stage: string): string[] {
  const words = parseShell(executable);
  if (words.length === 0 || words.some((w) => typeof w !== 'string')) {
    throw configError({ file, key: `${stage}.executable`, message: `executable "${executable}" is not a program with arguments`, fix: 'write a program and its arguments, e.g. "python -u"; pipes, redirections and ; are not allowed' });
  }
  return words as string[];
}

/** Lists comma-joined (socm's "200,200"), booleans as true/false. */
export function formatValue(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}
