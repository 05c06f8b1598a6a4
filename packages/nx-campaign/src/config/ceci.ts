/**
 * The ceci / TXPipe / lbg-pipelines dialect (REFERENCE.md section 2): `stages:` is a list of
 * entries naming stage classes, found in the `modules:` named. A module is a Python module
 * (read statically, see ceci-python.ts) or, this project's extension, a YAML file of stage
 * types with their own scripts. A Python stage's command is exactly ceci's; its config options
 * reach it through the stages config file, never the command line.
 */
import { delimiter, isAbsolute, posix, resolve } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { type Arg, type Stage, type StageOutput } from '../model/stage';
import { NAME_PATTERN, NAME_RULE } from '../format/names';
import { closestName } from '../util/closest';
import { existsInWorkspace } from '../util/consulted';
import { pythonSysPath, readCeciModules, type CeciClass, type CeciOption } from './ceci-python';
import { configError, ConfigError, type Problem } from '../format/errors';
import { splitExecutable } from './executable';
import type { RunLayer } from './pipeline';
import { mergeResources, resourcesSchema } from '../format/resources';
import { loadStageModule, optionTypeMatches, yamlModuleFile, type ConfigOption, type StageType } from './stage-types';
import { validate } from '../format/validate';
import { readYamlFile, type YamlFile } from '../format/yaml-file';

const count = z.number().int().positive();

const siteSchema = z.looseObject({
  name: z.string().default('local'),
  mpi_command: z.string().optional(),
  max_threads: count.optional(),
});
export type CeciSite = z.output<typeof siteSchema>;

const stageEntrySchema = z.looseObject({
  // Checked with every dialect's stage names, when the DAG is built.
  name: z.string(),
  classname: z.string().optional(),
  module_name: z.string().optional(),
  nprocess: count.optional(),
  threads_per_process: count.optional(),
  nodes: count.optional(),
  /** GB per process (ceci's default 2). */
  mem_per_process: z.number().positive().optional(),
  // An alias names the stage's file in the output folder.
  aliases: z.record(z.string(), z.string().regex(NAME_PATTERN, `a file name: ${NAME_RULE}`)).nullish().transform((v) => v ?? {}),
  memory: resourcesSchema.shape.memory,
  runtime: resourcesSchema.shape.runtime,
});
const ENTRY_KEYS = Object.keys(stageEntrySchema.shape);

const words = z.union([z.string().transform((s) => s.split(/\s+/).filter(Boolean)), z.array(z.string())]);

/** A ceci pipeline file's keys; the run keys (output_dir, inputs, ...) are read by config/run.ts. */
export const ceciPipelineSchema = z.looseObject({
  modules: words,
  python_paths: words.optional(),
  config: z.string().nullish(),
  stages: z.array(stageEntrySchema),
  launcher: z.looseObject({ name: z.enum(['mini', 'parsl', 'cwl']).optional(), interval: z.number().optional() }).optional(),
  site: siteSchema.optional(),
});
/** Keys ceci reads from a pipeline file that say how to run it rather than what it is. */
export const CECI_RUN_KEYS = ['inputs', 'output_dir', 'log_dir', 'resume', 'to', 'from', 'pipeline_log', 'registry', 'pre_script', 'post_script', 'strict'];
const KNOWN_KEYS = new Set([...Object.keys(ceciPipelineSchema.shape), ...CECI_RUN_KEYS]);

/** ceci's default `mpi_command` per site; NERSC's sites launch with srun. */
const MPI_COMMAND: Record<string, string> = { local: 'mpirun -n', 'cc-parallel': 'mpirun -n', 'nersc-interactive': 'srun -u -n', 'nersc-batch': 'srun -u -n', 'cori-interactive': 'srun -u -n', 'cori-batch': 'srun -u -n' };

/** A stage class from either kind of module, as the loader needs it. */
interface StageClass {
  name: string;
  /** Where it is declared, workspace-relative or absolute, with its line. */
  file: string;
  line?: number;
  inputs: { tag: string; suffix: string }[];
  outputs: { tag: string; suffix: string }[];
  options: Record<string, { type: string; default?: unknown; required: boolean; help?: string }>;
  parallel: boolean;
  python?: CeciClass;
  yaml?: StageType;
}

export interface CeciPipeline {
  stages: Stage[];
  warnings: Problem[];
  /** Option names of the stage classes in use, for the run's `config.global`. */
  optionNames: Set<string>;
  /** `site.max_threads`: the cores ceci's mini launcher may use on this machine. */
  maxThreads?: number;
}

export function loadCeciPipeline(wsRoot: string, y: YamlFile, name: string, dir: string, run: RunLayer): CeciPipeline {
  const p = validate(ceciPipelineSchema, y, y.data, [], () => 'see the ceci dialect in README.md ("Pipelines")');
  const warnings: Problem[] = [...y.warnings];
  const problems: Problem[] = [];
  const at = (key: (string | number)[]) => ({ file: y.file, line: y.lineOf(key), key: key.join('.') });
  for (const key of Object.keys(p)) {
    if (!KNOWN_KEYS.has(key)) warnings.push({ ...at([key]), message: `"${key}" is not a ceci pipeline key; ignored, as ceci ignores it`, fix: `remove it${closestName(key, KNOWN_KEYS) ? ` or rename it to ${closestName(key, KNOWN_KEYS)}` : ''}` });
  }
  p.stages.forEach((entry, i) => {
    for (const key of Object.keys(entry)) {
      if (!ENTRY_KEYS.includes(key)) warnings.push({ ...at(['stages', i, key]), message: `"${key}" is not a key of a ceci stage entry${key === 'image' || key === 'volume' ? ' that nx-campaign uses: stages run on the host, not in a container' : ''}; ignored`, fix: `stage entries take ${ENTRY_KEYS.join(', ')}` });
    }
  });

  const pythonPaths = [...(run.pythonPaths ?? []), ...(p.python_paths ?? [])].map((d) => resolve(wsRoot, d));
  const classes = loadClasses(wsRoot, y, dir, p.modules, p.stages.flatMap((s) => (s.module_name ? [s.module_name] : [])), pythonPaths);
  const site = { ...p.site, ...run.site, name: run.site?.name ?? p.site?.name ?? 'local' };
  if (!(site.name in MPI_COMMAND)) warnings.push({ ...at(['site', 'name']), message: `site "${site.name}" is not one of ceci's sites; its MPI launcher is taken as mpirun -n`, fix: `use one of: ${Object.keys(MPI_COMMAND).join(', ')}` });
  const mpiLauncher = (site.mpi_command ?? MPI_COMMAND[site.name] ?? 'mpirun -n').split(/\s+/).filter(Boolean);

  const configProblem = (problem: Problem) => (run.strict ? problems : warnings).push(problem);
  const config = p.config ? loadStagesConfig(wsRoot, y, dir, p.config) : undefined;
  const stageNames = p.stages.map((s) => s.name);
  if (config) {
    for (const section of Object.keys(config.sections)) {
      if (section === 'global' || stageNames.includes(section)) continue;
      // A stages config is often shared by several pipelines: a section for another's stage is fine.
      const guess = closestName(section, stageNames);
      if (guess) configProblem({ file: config.y.file, line: config.y.lineOf([section]), key: section, message: `section "${section}" names no stage of ${y.file}; did you mean "${guess}"?`, fix: `rename it to ${guess} if it is meant for that stage` });
    }
  }
  // The run's config overrides the file's: ceci stages then read a merged copy of the same name.
  const overridden = run.source !== undefined && Object.keys(run.config).some((s) => s === 'global' || stageNames.includes(s));
  const configArg = !p.config ? undefined : overridden ? posix.join(run.outputDir, posix.basename(p.config)) : p.config;
  const configFile = overridden && config ? { path: resolve(wsRoot, run.outputDir, posix.basename(p.config!)), content: stringify(mergeSections(config.sections, run.config)) } : undefined;

  const optionNames = new Set<string>();
  const stages = p.stages.map((entry, i): Stage | undefined => {
    const className = entry.classname ?? entry.name;
    const cls = classes.get(className);
    const entryAt = at(['stages', i, entry.classname ? 'classname' : 'name']);
    if (!cls) {
      const guess = closestName(className, classes.keys());
      problems.push({ ...entryAt, message: `no stage class "${className}" in modules ${p.modules.join(' ')}${guess ? ` (did you mean "${guess}"?)` : ''}`, fix: classes.size ? `use one of: ${[...classes.keys()].sort().join(', ')}` : 'the modules define no stage class: check modules and python_paths' });
      return undefined;
    }
    if (cls.python?.error) {
      problems.push({ ...entryAt, message: `class ${cls.python.class_name} (module ${cls.python.module}, ${cls.python.file}:${cls.python.line}) cannot be read statically: ${cls.python.error}`, fix: `declare it in YAML instead: ${posix.join(dir, `${p.modules[0]}.yaml`)} with its inputs, outputs and config (see "Stage types in YAML" in README.md)` });
      return undefined;
    }
    for (const o of Object.keys(cls.options)) optionNames.add(o);
    const tags = [...cls.inputs, ...cls.outputs].map((t) => t.tag);
    for (const tag of Object.keys(entry.aliases)) {
      if (!tags.includes(tag)) problems.push({ ...at(['stages', i, 'aliases', tag]), message: `"${tag}" is not an input or output tag of ${cls.name}`, fix: `alias one of: ${tags.join(', ')}` });
    }
    const ranks = entry.nprocess ?? 1;
    if (ranks > 1 && !cls.parallel) problems.push({ ...at(['stages', i, 'nprocess']), message: `${cls.name} is not parallel (parallel = False), so it cannot take nprocess ${ranks}: ceci would pass it --mpi`, fix: 'set nprocess: 1' });
    const resolved = resolveConfig(entry.name, cls, config, run, configProblem, problems);
    const alias = (tag: string) => entry.aliases[tag] ?? tag;
    const outputs: StageOutput[] = cls.outputs.map((o) => ({ key: alias(o.tag), path: o.suffix ? `${alias(o.tag)}.${o.suffix}` : alias(o.tag) }));
    for (const o of outputs) {
      if (!NAME_PATTERN.test(o.path)) problems.push({ ...entryAt, message: `${cls.name}'s output ${JSON.stringify(o.path)} is not a file name in the output folder (tag and suffix of ${cls.file})`, fix: `give the tag and its file type's suffix ${NAME_RULE}` });
    }
    const resources = mergeResources(
      cls.yaml?.resources,
      { ranks: entry.nprocess, threads: entry.threads_per_process, nodes: entry.nodes, memoryTotal: entry.mem_per_process === undefined ? undefined : Math.ceil(entry.mem_per_process * ranks * 1000), memory: entry.memory, runtime: entry.runtime },
      run.resources[entry.name],
    );
    const base = { name: entry.name, pipeline: name, inputs: cls.inputs.map((t) => alias(t.tag)), outputs, depends: [], resources, config: resolved, source: { file: y.file, key: ['stages', i] } };
    if (cls.python) {
      if (!configArg) problems.push({ ...at(['config']), message: `no config: ceci passes the stages config file to every stage (--config=), and ${cls.name} reads its options from it`, fix: 'add config: <stages config YAML> to the pipeline' });
      const argv: Arg[] = ['python3', '-m', ...(cls.python.namespace ? ['ceci', `${cls.python.module}.${cls.name}`] : [cls.python.top_package, cls.name])];
      for (const t of cls.inputs) argv.push({ prefix: `--${t.tag}=`, input: alias(t.tag), asWritten: true });
      if (entry.name !== cls.name) argv.push(`--name=${entry.name}`);
      argv.push(`--config=${configArg}`);
      for (const t of cls.outputs) argv.push({ prefix: `--${t.tag}=`, output: alias(t.tag), asWritten: true });
      if (ranks > 1) argv.push('--mpi');
      return {
        ...base,
        argv,
        env: {},
        // ceci runs stages from the folder it was started in; the paths it passes are relative to it.
        cwd: '.',
        mpiLauncher,
        ...(pythonPaths.length ? { pythonPath: pythonPaths } : {}),
        // Its options are in `config`, so an edit to another stage's section leaves it cached.
        definitionFiles: [cls.file],
        ...(configFile ? { configFile } : {}),
      };
    }
    const type = cls.yaml!;
    const argv: Arg[] = splitExecutable(type.executable, () => ({ file: type.file, line: type.line, key: `${type.name}.executable` }));
    if (type.script) argv.push({ prefix: '', file: posix.join(posix.dirname(type.file), type.script) });
    for (const t of cls.inputs) argv.push({ prefix: `--${t.tag}=`, input: alias(t.tag) });
    for (const t of cls.outputs) argv.push({ prefix: `--${t.tag}=`, output: alias(t.tag) });
    for (const key of Object.keys(resolved).sort()) if (key in cls.options) argv.push(...argparseOption(key, resolved[key]));
    return { ...base, argv, env: type.environment, mpiLauncher, definitionFiles: type.script ? [type.file, posix.join(posix.dirname(type.file), type.script)] : [type.file] };
  });
  if (config) {
    for (const k of Object.keys(config.sections.global ?? {})) {
      if (!optionNames.has(k)) configProblem({ file: config.y.file, line: config.y.lineOf(['global', k]), key: `global.${k}`, message: `global option "${k}" is not an option of any stage of ${y.file}${closestName(k, optionNames) ? `; did you mean "${closestName(k, optionNames)}"?` : ''}`, fix: 'remove it or correct its name (ceci ignores it)' });
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { stages: stages as Stage[], warnings, optionNames, maxThreads: site.max_threads };
}

/** YAML modules (this project's) and Python modules (read statically), as one map of classes by ceci's name. */
function loadClasses(wsRoot: string, y: YamlFile, dir: string, modules: string[], extra: string[], pythonPaths: string[]): Map<string, StageClass> {
  const classes = new Map<string, StageClass>();
  const add = (c: StageClass, where: Problem) => {
    const prior = classes.get(c.name);
    if (prior) throw configError({ ...where, message: `stage class "${c.name}" is defined twice: ${prior.file} and ${c.file}`, fix: 'rename one of them (ceci refuses two stages of one name too)' });
    classes.set(c.name, c);
  };
  const python: string[] = [];
  for (const module of [...modules, ...extra]) {
    const file = yamlModuleFile(wsRoot, dir, module);
    if (!file) {
      python.push(module);
      continue;
    }
    for (const t of loadStageModule(wsRoot, file)) {
      add(
        {
          name: t.name,
          file: t.file,
          line: t.line,
          inputs: Object.entries(t.inputs).map(([tag, suffix]) => ({ tag, suffix })),
          outputs: Object.entries(t.outputs).map(([tag, suffix]) => ({ tag, suffix })),
          options: Object.fromEntries(Object.entries(t.config).map(([k, o]) => [k, { type: o.type, default: o.default, required: o.required === true, help: o.help }])),
          parallel: true,
          yaml: t,
        },
        { file: t.file, line: t.line, key: t.name, message: '' },
      );
    }
  }
  if (!python.length) return classes;
  // ceci's import path: python_paths, PYTHONPATH, the folder it was started from (the workspace root).
  const searchPath = [...pythonPaths, ...(process.env.PYTHONPATH ?? '').split(delimiter).filter(Boolean).map((d) => resolve(wsRoot, d)), wsRoot, resolve(wsRoot, dir)];
  // Then where python3 finds installed packages (a pip-installed txpipe, say).
  const read = readCeciModules([...new Set([...searchPath, ...pythonSysPath()])], python);
  const problems: Problem[] = [];
  for (const m of read.modules) {
    if (!m.found) problems.push({ file: y.file, line: y.lineOf(['modules']), key: 'modules', code: 'absent', message: `module "${m.name}" is neither ${posix.join(dir, `${m.name}.yaml`)} nor a Python module on the import path (${[...searchPath, 'python3\'s own'].join(', ')})`, fix: 'install it, add its source folder to python_paths (or PYTHONPATH), or declare its stage types in YAML beside the pipeline' });
  }
  for (const e of read.errors) problems.push({ file: e.file ?? y.file, line: e.line ?? y.lineOf(['modules']), key: e.file ? undefined : 'modules', message: `module ${e.module}: ${e.message}`, fix: 'correct the module, or leave it out of modules:' });
  if (problems.length) throw new ConfigError(problems);
  for (const c of read.classes) {
    const file = workspaceRelative(wsRoot, c.file);
    add(
      {
        name: c.name,
        file,
        line: c.line,
        inputs: c.inputs.map((t) => ({ tag: t.tag, suffix: t.suffix ?? '' })),
        outputs: c.outputs.map((t) => ({ tag: t.tag, suffix: t.suffix ?? '' })),
        options: Object.fromEntries(Object.entries(c.config).map(([k, o]) => [k, { type: o.type, default: literalDefault(o), required: o.required, help: o.help }])),
        parallel: c.parallel,
        python: { ...c, file },
      },
      { file, line: c.line, key: c.class_name, message: '' },
    );
  }
  return classes;
}

function workspaceRelative(wsRoot: string, file: string): string {
  const rel = posix.relative(wsRoot, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** A default that is a literal; `{expr}` defaults are unknown here (the stage computes them). */
function literalDefault(o: CeciOption): unknown {
  return o.default !== null && typeof o.default === 'object' && !Array.isArray(o.default) && 'expr' in o.default ? undefined : o.default;
}

interface StagesConfig {
  y: YamlFile;
  sections: Record<string, Record<string, unknown>>;
}

/** The stages config file: from the folder ceci is started in (the workspace root), else beside the pipeline. */
export function loadStagesConfig(wsRoot: string, y: YamlFile, dir: string, path: string): StagesConfig {
  const file = [posix.normalize(path), posix.join(dir, path)].find((f) => existsInWorkspace(wsRoot, f));
  if (!file) throw configError({ file: y.file, line: y.lineOf(['config']), key: 'config', code: 'absent', message: `config file "${path}" not found (looked from the workspace root and beside ${y.file})`, fix: 'correct the path or create the file' });
  const c = readYamlFile(resolve(wsRoot, file), file);
  const sections = validate(z.record(z.string(), z.record(z.string(), z.unknown()).nullable().transform((v) => v ?? {})), c, c.data ?? {}, [], () => 'a stages config has one mapping per stage name, plus global:');
  return { y: c, sections };
}

function mergeSections(file: Record<string, Record<string, unknown>>, run: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = Object.fromEntries(Object.entries(file).map(([s, v]) => [s, { ...v }]));
  for (const [s, v] of Object.entries(run)) out[s] = { ...out[s], ...v };
  return out;
}

/**
 * A stage's configuration as ceci's stage reads it: defaults < `global:` < its own section
 * (the stages config, then the run's overrides). Keys its class does not declare reach it too,
 * as in ceci; they are warnings (errors under `strict: true`). A missing required option, or a
 * value ceci could not cast to the option's type, is an error.
 */
function resolveConfig(stage: string, cls: StageClass, cfg: StagesConfig | undefined, run: RunLayer, configProblem: (p: Problem) => void, problems: Problem[]): Record<string, unknown> {
  const layers: { y: YamlFile; base: string[]; values: Record<string, unknown> }[] = [];
  if (cfg?.sections.global) layers.push({ y: cfg.y, base: ['global'], values: cfg.sections.global });
  if (run.source && run.config.global) layers.push({ y: run.source, base: ['config', 'global'], values: run.config.global });
  if (cfg?.sections[stage]) layers.push({ y: cfg.y, base: [stage], values: cfg.sections[stage] });
  if (run.source && run.config[stage]) layers.push({ y: run.source, base: ['config', stage], values: run.config[stage] });
  const config: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(cls.options)) if (option.default !== undefined) config[key] = option.default;
  for (const layer of layers) {
    const isGlobal = layer.base[layer.base.length - 1] === 'global';
    for (const [key, value] of Object.entries(layer.values)) {
      const option = cls.options[key];
      const path = [...layer.base, key];
      const at = { file: layer.y.file, line: layer.y.lineOf(path), key: path.join('.') };
      if (!option) {
        // ceci gives every stage the global keys; whether any stage uses one is checked once, in loadCeciPipeline.
        if (isGlobal) {
          config[key] = value;
          continue;
        }
        const guess = closestName(key, Object.keys(cls.options));
        configProblem({ ...at, message: `"${key}" is not a config option of ${cls.name} (stage ${stage})${guess ? `; did you mean "${guess}"?` : ''}; ${cls.python ? 'the stage gets it anyway, as in ceci' : 'it is not passed to its script'}`, fix: `remove it or correct its name; known options: ${Object.keys(cls.options).join(', ') || 'none'}` });
        config[key] = value;
        continue;
      }
      if (!(cls.python ? castable(option.type, value) : optionTypeMatches({ type: option.type as ConfigOption['type'] }, value))) {
        problems.push({ ...at, message: `${JSON.stringify(value)} is not of type ${option.type}`, fix: `give a value of type ${option.type}` });
        continue;
      }
      config[key] = value;
    }
  }
  for (const [key, option] of Object.entries(cls.options)) {
    if (option.required && config[key] === undefined) {
      problems.push({ file: cfg?.y.file ?? cls.file, line: cfg?.y.lineOf([stage]), key: `${stage}.${key}`, message: `stage ${stage} needs config option "${key}" (${option.type}${option.help ? `: ${option.help}` : ''})`, fix: `set ${stage}: {${key}: ...} in the stages config or the run's config:` });
    }
  }
  return config;
}

/** What ceci's cast_value accepts: the type itself, or what the type's constructor takes. */
function castable(type: string, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  switch (type) {
    case 'int':
    case 'float':
      return typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)));
    case 'bool':
    case 'str':
    case 'any':
      return true;
    case 'list':
      return Array.isArray(value) || typeof value === 'string';
    default:
      return typeof value === 'object' && !Array.isArray(value);
  }
}

/** An option as ceci's argparse reads it: `--opt` / `--no-opt` for booleans, comma-joined lists. */
export function argparseOption(key: string, value: unknown): string[] {
  if (typeof value === 'boolean') return [value ? `--${key}` : `--no-${key}`];
  if (Array.isArray(value)) return [`--${key}=${value.map(String).join(',')}`];
  return [`--${key}=${String(value)}`];
}
