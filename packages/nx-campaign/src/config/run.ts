import { join, posix } from 'node:path';
import { z } from 'zod';
import { BACKENDS } from '../sites/site';
import { retriesSchema } from './retries';
import { loadCampaignToml } from './campaign-toml';
import { buildDag, trimDag } from '../graph/dag';
import { SAFE_NAME, runNameOf, type ResumeMode, type Run } from '../model/run';
import { ConfigError, configError, type Problem } from './errors';
import { loadPipeline, loadPipelineFile, unknownGlobalKeys, type Pipeline, type StageOverrides } from './pipeline';
import { resourcesSchema, runtimeSchema } from './resources';
import { validate } from './validate';
import { readYamlFile } from './yaml-file';

const names = z.union([z.string().transform((s) => [s]), z.array(z.string())]);

const runSchema = z.strictObject({
  description: z.string().optional(),
  pipelines: names.refine((l) => l.length > 0, 'name at least one pipeline'),
  output_dir: z.string().default('results/{run}/outputs'),
  log_dir: z.string().default('results/{run}/logs'),
  inputs: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  resume: z
    .union([z.enum(['resume', 'restart', 'refuse']), z.boolean()])
    .default('resume')
    .transform((v): ResumeMode => (v === true ? 'resume' : v === false ? 'restart' : v)),
  pre_script: z.string().nullish().transform((v) => v ?? ''),
  post_script: z.string().nullish().transform((v) => v ?? ''),
  config: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  resources: z.record(z.string(), resourcesSchema).default({}),
  from: names.optional(),
  to: names.optional(),
  // Planning (see "Sites and plans" in README.md): where, how big an allocation, by when.
  site: z.string().optional(),
  backend: z.enum(BACKENDS).optional(),
  requested_resources: z.number().int().positive().optional(),
  nodes: z.number().int().positive().optional(),
  deadline: runtimeSchema.optional(),
  retries: retriesSchema.optional(),
});

/** Load `runs/<run>.yaml`, its pipelines and their DAG. */
export function loadRun(wsRoot: string, file: string): Run {
  if (file.endsWith('.toml')) return loadCampaignToml(wsRoot, file);
  const name = runNameOf(file);
  if (!SAFE_NAME.test(name)) throw configError({ file, message: `run name "${name}" has characters Nx cannot use`, fix: 'rename the file with letters, digits, _ . and - only' });
  const y = readYamlFile(join(wsRoot, file), file);
  const r = validate(runSchema, y, y.data, [], () => 'see the run format in README.md ("Runs")');
  const overrides: StageOverrides = { source: y, config: r.config, resources: r.resources };
  const pipelines = r.pipelines.map((p, i) => {
    try {
      return loadPipeline(wsRoot, p, overrides);
    } catch (e) {
      if (e instanceof ConfigError && e.problems.length === 1 && e.problems[0].message.startsWith(`pipeline "${p}" not found`)) {
        throw configError({ ...e.problems[0], file, line: y.lineOf(['pipelines', i]) ?? y.lineOf(['pipelines']), key: 'pipelines' });
      }
      throw e;
    }
  });
  const known = new Set(pipelines.flatMap((p) => p.stages.map((s) => s.name)));
  const problems: Problem[] = [];
  const sections: [string[], Record<string, unknown>][] = [[['config'], r.config], [['resources'], r.resources], [['retries', 'stages'], r.retries?.stages ?? {}]];
  for (const [section, entries] of sections) {
    for (const stage of Object.keys(entries)) {
      if (stage === 'global' && section[0] === 'config') continue;
      if (!known.has(stage)) problems.push({ file, line: y.lineOf([...section, stage]), key: [...section, stage].join('.'), message: `no stage "${stage}" in pipelines ${r.pipelines.join(', ')}`, fix: `use one of: ${[...known].join(', ')}` });
    }
  }
  problems.push(...unknownGlobalKeys(y, ['config', 'global'], r.config.global, pipelines.flatMap((p) => p.stageTypes ?? [])));
  for (const key of ['from', 'to'] as const) {
    (r[key] ?? []).forEach((s, i) => {
      if (!known.has(s)) problems.push({ file, line: y.lineOf([key, i]) ?? y.lineOf([key]), key, message: `no stage "${s}" to trim ${key}`, fix: `use one of: ${[...known].join(', ')}` });
    });
  }
  if (r.requested_resources !== undefined && r.nodes !== undefined) {
    problems.push({ file, line: y.lineOf(['nodes']), key: 'nodes', message: 'both requested_resources (cores) and nodes cap the allocation', fix: 'keep one of them' });
  }
  if (problems.length) throw new ConfigError(problems);

  return assembleRun(name, file, r, pipelines, [...y.warnings, ...pipelines.flatMap((p) => p.warnings)]);
}

/** The run's DAG over its pipelines' stages, trimmed, with its folders and settings resolved. */
function assembleRun(name: string, file: string, r: z.output<typeof runSchema>, pipelines: Pipeline[], warnings: Problem[]): Run {
  const inputs = Object.fromEntries(Object.entries(r.inputs).map(([tag, path]) => [tag, posix.normalize(path)]));
  const yamlOf = new Map(pipelines.map((p) => [p.file, p.yaml]));
  const dag = buildDag(pipelines.flatMap((p) => p.stages), inputs, file, (src) => yamlOf.get(src.file)?.lineOf(src.key));
  const keep = trimDag(dag, r.from ?? [], r.to ?? []);
  const sub = (p: string) => p.replaceAll('{run}', name);
  return {
    name,
    file,
    outputDir: posix.normalize(sub(r.output_dir)),
    logDir: posix.normalize(sub(r.log_dir)),
    inputs,
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
}

/**
 * A pipeline file alone (e.g. a socm DAG YAML) as a one-pipeline run with the default
 * folders and no run inputs, named after the file: what `campaign plan <pipeline file>` plans.
 */
export function loadPipelineAsRun(wsRoot: string, file: string): Run {
  const base = runNameOf(file);
  const name = base === 'pipeline' ? posix.basename(posix.dirname(posix.normalize(file))) || base : base;
  const p = loadPipelineFile(wsRoot, file, name);
  return assembleRun(name, file, runSchema.parse({ pipelines: p.name }), [p], p.warnings);
}
