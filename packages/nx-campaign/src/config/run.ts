import { join, posix, relative, sep } from 'node:path';
import { absolutePath } from '../model/command';
import { z } from 'zod';
import { BACKENDS } from '../model/run';
import { retriesSchema } from '../format/retries';
import { loadCampaignToml } from './campaign-toml';
import { isRubinCampaign, loadRubinCampaign } from './rubin-campaign';
import { buildDag, trimDag } from '../graph/dag';
import { SAFE_NAME, runNameOf, type ResumeMode, type Run } from '../model/run';
import { closestName } from '../util/closest';
import { ConfigError, configError, type Problem } from '../format/errors';
import { loadPipeline, loadPipelineYaml, type Pipeline, type RunLayer } from './pipeline';
import { CECI_RUN_KEYS } from './ceci';
import { folderProblem } from './folders';
import { missingFiles } from './missing-files';
import { resourcesSchema, runtimeSchema } from '../format/resources';
import { validate } from '../format/validate';
import { readYamlFile, type YamlFile } from '../format/yaml-file';

const names = z.union([z.string().transform((s) => [s]), z.array(z.string())]);
const resumeSchema = z
  .union([z.enum(['resume', 'restart', 'refuse']), z.boolean()])
  .transform((v): ResumeMode => (v === true ? 'resume' : v === false ? 'restart' : v));
/** ceci's run inputs: a path, or null (the stage gets `--<tag>=None`). */
const inputsSchema = z.record(z.string(), z.string().nullable()).nullish().transform((v) => v ?? {});
const hook = z.string().nullish().transform((v) => v ?? '');
/** ceci's `site:` mapping; a string is this project's planning site. */
const ceciSite = z.looseObject({ name: z.string().default('local'), mpi_command: z.string().optional(), max_threads: z.number().int().positive().optional() });

/** What a run is made of and how it runs, in a run file and in a ceci pipeline file run alone. */
const runSettings = {
  output_dir: z.string().default('results/{run}/outputs'),
  log_dir: z.string().default('results/{run}/logs'),
  inputs: inputsSchema,
  resume: resumeSchema.default('resume'),
  pre_script: hook,
  post_script: hook,
  from: names.optional(),
  to: names.optional(),
  /** ceci config: unknown keys and unused global keys are errors instead of warnings. */
  strict: z.boolean().default(false),
};

const runSchema = z.strictObject({
  description: z.string().optional(),
  pipelines: names.refine((l) => l.length > 0, 'name at least one pipeline'),
  ...runSettings,
  config: z.record(z.string(), z.record(z.string(), z.unknown()).nullable().transform((v) => v ?? {})).default({}),
  resources: z.record(z.string(), resourcesSchema).default({}),
  // Planning (see "Sites and plans" in README.md): where, how big an allocation, by when.
  // A mapping is ceci's site (how stages are launched), as lbg-pipelines run files give it.
  site: z.union([z.string(), ceciSite]).optional(),
  python_paths: z.union([z.string().transform((s) => s.split(/\s+/).filter(Boolean)), z.array(z.string())]).optional(),
  launcher: z.looseObject({}).optional(),
  backend: z.enum(BACKENDS).optional(),
  requested_resources: z.number().int().positive().optional(),
  nodes: z.number().int().positive().optional(),
  deadline: runtimeSchema.optional(),
  retries: retriesSchema.optional(),
});
type RunFile = z.output<typeof runSchema>;

/** A ceci pipeline file's run keys, when the file is run alone (as `ceci pipeline.yml` runs it). */
const pipelineRunSchema = z.looseObject({ ...runSettings, output_dir: z.string().optional(), log_dir: z.string().optional() });

/** Load a run: a run file (`runs/<run>.yaml`), a Rubin campaign (one with `steps:`), a socm TOML campaign, or a pipeline file run alone. */
export function loadRun(wsRoot: string, file: string): Run {
  if (file.endsWith('.toml')) return loadCampaignToml(wsRoot, file);
  const y = readYamlFile(join(wsRoot, file), file);
  const data = y.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object' && 'stages' in data) return loadPipelineAsRun(wsRoot, y);
  if (isRubinCampaign(data)) return loadRubinCampaign(wsRoot, y);
  const name = runNameOf(file);
  checkName(file, name);
  const r = validate(runSchema, y, y.data, [], () => 'see the run format in README.md ("Runs")');
  const layer: RunLayer = {
    source: y,
    config: r.config,
    resources: r.resources,
    strict: r.strict,
    outputDir: r.output_dir.replaceAll('{run}', name),
    ...(typeof r.site === 'object' ? { site: r.site } : {}),
    ...(r.python_paths ? { pythonPaths: r.python_paths } : {}),
  };
  const problems: Problem[] = [];
  const warnings: Problem[] = [...y.warnings];
  const pipelines = r.pipelines.map((p, i) => {
    try {
      return loadPipeline(wsRoot, p, layer);
    } catch (e) {
      if (e instanceof ConfigError && e.problems.length === 1 && e.problems[0].message.startsWith(`pipeline "${p}" not found`)) {
        throw configError({ ...e.problems[0], file, line: y.lineOf(['pipelines', i]) ?? y.lineOf(['pipelines']), key: 'pipelines' });
      }
      throw e;
    }
  });
  // A pipeline file's own inputs are defaults the run's override (lbg-pipelines layers them so);
  // its folders and resume mode are the run's to decide.
  const inputs: Record<string, string | null> = {};
  for (const p of pipelines) {
    const own = p.yaml.data as Record<string, unknown>;
    Object.assign(inputs, pipelineRunSchema.safeParse(own).data?.inputs ?? {});
    for (const key of ['output_dir', 'log_dir', 'resume', 'pipeline_log'].filter((k) => own[k] !== undefined)) {
      warnings.push({ file: p.file, line: p.yaml.lineOf([key]), key, message: `"${key}" of ${p.file} is not used: the run file ${file} decides it`, fix: `set ${key} in ${file} (or leave the default)` });
    }
  }
  Object.assign(inputs, r.inputs);

  const known = new Set(pipelines.flatMap((p) => p.stages.map((s) => s.name)));
  const configProblem = (p: Problem) => (r.strict ? problems : warnings).push(p);
  const sections: [string[], Record<string, unknown>][] = [[['resources'], r.resources], [['retries', 'stages'], r.retries?.stages ?? {}]];
  for (const [section, entries] of sections) {
    for (const stage of Object.keys(entries)) {
      if (!known.has(stage)) problems.push({ file, line: y.lineOf([...section, stage]), key: [...section, stage].join('.'), message: `no stage "${stage}" in pipelines ${r.pipelines.join(', ')}`, fix: `use one of: ${[...known].join(', ')}` });
    }
  }
  for (const stage of Object.keys(r.config)) {
    if (stage === 'global' || known.has(stage)) continue;
    const guess = closestName(stage, known);
    configProblem({ file, line: y.lineOf(['config', stage]), key: `config.${stage}`, message: `no stage "${stage}" in pipelines ${r.pipelines.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}: its config is not used`, fix: `use one of: ${[...known].join(', ')}` });
  }
  const options = new Set(pipelines.flatMap((p) => [...(p.optionNames ?? [])]));
  for (const k of Object.keys(r.config.global ?? {})) {
    if (!options.has(k)) configProblem({ file, line: y.lineOf(['config', 'global', k]), key: `config.global.${k}`, message: `global option "${k}" is not an option of any stage${closestName(k, options) ? `; did you mean "${closestName(k, options)}"?` : ''}`, fix: 'remove it or correct its name' });
  }
  for (const key of ['from', 'to'] as const) {
    (r[key] ?? []).forEach((s, i) => {
      if (!known.has(s)) problems.push({ file, line: y.lineOf([key, i]) ?? y.lineOf([key]), key, message: `no stage "${s}" to trim ${key}`, fix: `use one of: ${[...known].join(', ')}` });
    });
  }
  if (r.requested_resources !== undefined && r.nodes !== undefined) {
    problems.push({ file, line: y.lineOf(['nodes']), key: 'nodes', message: 'both requested_resources (cores) and nodes cap the allocation', fix: 'keep one of them' });
  }
  if (problems.length) throw new ConfigError(problems);
  return assembleRun(wsRoot, name, file, y, { ...r, inputs, site: typeof r.site === 'string' ? r.site : undefined }, pipelines, [...warnings, ...pipelines.flatMap((p) => p.warnings)]);
}

function checkName(file: string, name: string) {
  if (!SAFE_NAME.test(name)) throw configError({ file, message: `run name "${name}" has characters Nx cannot use`, fix: 'rename the file with letters, digits, _ . and - only' });
}

type RunSettings = Omit<RunFile, 'site' | 'pipelines'> & { site?: string };

/** The run's DAG over its pipelines' stages, trimmed, with its folders and settings resolved. */
function assembleRun(wsRoot: string, name: string, file: string, y: YamlFile, r: RunSettings, pipelines: Pipeline[], warnings: Problem[]): Run {
  const sub = (p: string) => p.replaceAll('{run}', name);
  const given = Object.entries(r.inputs).filter((e): e is [string, string] => e[1] !== null);
  const inputs = Object.fromEntries(given.map(([tag, path]) => [tag, posix.normalize(path)]));
  const noneInputs = Object.keys(r.inputs).filter((t) => r.inputs[t] === null);
  const yamlOf = new Map([[y.file, y], ...pipelines.map((p) => [p.file, p.yaml] as const)]);
  const dag = buildDag(pipelines.flatMap((p) => p.stages), inputs, file, (src) => yamlOf.get(src.file)?.lineOf(src.key), noneInputs);
  const keep = trimDag(dag, r.from ?? [], r.to ?? []);
  const maxThreads = pipelines.map((p) => p.maxThreads).filter((m): m is number => m !== undefined);
  const definition = [file, ...pipelines.map((p) => p.file), ...new Set(pipelines.flatMap((p) => p.stages.flatMap((st) => st.definitionFiles)))].map((f) => posix.normalize(relative(wsRoot, absolutePath(wsRoot, f)).split(sep).join('/')));
  const folderProblems = [...folderProblem(y, 'output_dir', sub(r.output_dir), inputs, definition), ...folderProblem(y, 'log_dir', sub(r.log_dir), inputs, definition)];
  if (folderProblems.length) throw new ConfigError(folderProblems);
  if (!keep.size) {
    const trimmed = dag.order.length > 0;
    throw configError({ file, line: y.lineOf([trimmed ? (r.from ? 'from' : 'to') : 'pipelines']), key: trimmed ? (r.from ? 'from' : 'to') : 'pipelines', message: trimmed ? 'from and to select no stage' : 'the run has no stage', fix: trimmed ? 'name stages with from (they and their descendants) and to (they and their ancestors) that meet' : 'give its pipelines stages' });
  }
  const run: Run = {
    name,
    file,
    outputDir: posix.normalize(sub(r.output_dir)),
    logDir: posix.normalize(sub(r.log_dir)),
    inputs,
    ...(noneInputs.length ? { noneInputs } : {}),
    written: { outputDir: sub(r.output_dir), inputs: Object.fromEntries(given) },
    ...(maxThreads.length ? { maxCores: Math.min(...maxThreads) } : {}),
    resume: r.resume,
    preScript: r.pre_script,
    postScript: r.post_script,
    pipelines: pipelines.map((p) => ({ name: p.name, file: p.file, campaign: p.campaign })),
    dag,
    stages: dag.order.filter((n) => keep.has(n)),
    warnings,
    site: r.site,
    backend: r.backend,
    requestedResources: r.requested_resources,
    nodes: r.nodes,
    deadline: r.deadline,
    retries: r.retries,
  };
  run.warnings.push(...missingFiles(wsRoot, run));
  return run;
}

/**
 * A pipeline file alone as a one-pipeline run, named after the file (its folder for
 * `pipeline.yaml`): what `campaign plan <file>` plans. A ceci pipeline file is a run in ceci:
 * its inputs, output_dir, log_dir, resume, to and from are the run's (folders default to this
 * project's, results/<run>/...). A socm DAG file has no run keys.
 */
function loadPipelineAsRun(wsRoot: string, y: YamlFile): Run {
  const base = runNameOf(y.file);
  const name = base === 'pipeline' ? posix.basename(posix.dirname(posix.normalize(y.file))) || base : base;
  checkName(y.file, name);
  const ceci = Array.isArray((y.data as { stages?: unknown }).stages);
  const keys = ceci ? validate(pipelineRunSchema, y, y.data, [], () => 'see the ceci dialect in README.md ("Pipelines")') : undefined;
  const { site: _site, pipelines: _pipelines, ...defaults } = runSchema.parse({ pipelines: name });
  const r: RunSettings = { ...defaults, ...(keys ? Object.fromEntries(Object.entries(keys).filter(([k, v]) => v !== undefined && k in runSettings)) : {}) };
  const layer: RunLayer = { config: {}, resources: {}, strict: r.strict, outputDir: r.output_dir.replaceAll('{run}', name) };
  const p = loadPipelineYaml(wsRoot, y, name, layer);
  const unused = ceci ? Object.keys(y.data as object).filter((k) => CECI_RUN_KEYS.includes(k) && !(k in runSettings)) : [];
  const warnings = [...p.warnings, ...unused.map((k) => ({ file: y.file, line: y.lineOf([k]), key: k, message: `"${k}" is not used by nx-campaign`, fix: 'remove it, or see "Runs" in README.md' }))];
  return assembleRun(wsRoot, name, y.file, y, r, [p], warnings);
}

