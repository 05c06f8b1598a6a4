/**
 * Rubin campaigns (`runs/<campaign>.yaml` with `steps:`): an LSST pipeline, a butler repository,
 * input collections, a base data query and an output collection, then an ordered list of steps.
 * A step is a label expression of the pipeline (`#step1`, `#isr,calibrateImage`, `#a..b`) with
 * its config overrides, resources, prerequisites (default: the step before), an optional review
 * gate, and how it splits into groups. Each group is one stage: `pipetask run` on the group's
 * quantum graph, built and saved before it is submitted (the pre-flight), its datasets checked
 * after it succeeds. See "Rubin campaigns" in README.md.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import { z } from 'zod';
import { buildDag } from '../graph/dag';
import { BACKENDS, SAFE_NAME, runNameOf, type Run } from '../model/run';
import type { Stage, StageCheck } from '../model/stage';
import { ConfigError, configError, type Problem } from '../format/errors';
import { NAME_PATTERN, NAME_RULE } from '../format/names';
import { mergeResources, memorySchema, runtimeSchema, type ResourcesInput } from '../format/resources';
import { retriesSchema } from '../format/retries';
import { validate } from '../format/validate';
import type { KeyPath, YamlFile } from '../format/yaml-file';
import { noteFile } from '../util/consulted';
import { BUTLER_NOT_FOUND_FIX, ButlerError, distinctValues } from '../workflows/rubin/butler';
import { andQuery, groupsOf, type Group, type Split, type SplitValue } from '../workflows/rubin/splits';
import { folderProblem } from './folders';
import { flatConfig, loadLsstPipeline, selectTasks, type LsstPipeline } from './lsst-pipeline';

const DIMENSION = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `-c label:field=value` as pipetask takes it. */
const OVERRIDE = /^([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_][A-Za-z0-9_.]*)=(.*)$/s;
/** `-C label:file`. */
const CONFIG_FILE = /^([A-Za-z_][A-Za-z0-9_]*):(.+)$/s;

const count = z.number().int().positive();
/** How a group runs: `pipetask run` as a stage of the run's backend, or one BPS workflow (`bps submit`). */
export const MODES = ['pipetask', 'bps'] as const;
/** What the submit template writes from the campaign itself; the rest of a BPS setting goes into the file as given. */
const TEMPLATE_KEYS = ['pipelineYaml', 'qgraphFile', 'payload', 'project', 'campaign', 'operator', 'computeSite', 'submitPath', 'requestCpus', 'requestMemory', 'numberOfRetries'];
const bpsSettings = z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
  for (const k of Object.keys(v)) if (TEMPLATE_KEYS.includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: `the campaign sets ${k} (from its butler, inputs, query, output, resources, retries and site): set it there, or write a submit template (bps/campaigns/<campaign>.hbs)` });
});
const resources = z.strictObject({ cores: count.max(10_000).optional(), nodes: count.max(100_000).optional(), memory: memorySchema.optional(), runtime: runtimeSchema.optional() });
type RubinResources = z.output<typeof resources>;
const value = z.union([z.string(), z.number()]);
const collections = z.union([z.string().transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean)), z.array(z.string())]);
/** What a step, and a value of its split, may set. */
const settings = {
  query: z.string().optional(),
  config: z.array(z.string()).optional(),
  config_files: z.array(z.string()).optional(),
  resources: resources.optional(),
};
const valueSettings = z.strictObject(settings).nullable();
const split = z.discriminatedUnion('by', [
  z.strictObject({ by: z.literal('values'), dimension: z.string(), values: z.union([z.array(z.union([value, z.array(value).min(1)])).min(1), z.record(z.string(), valueSettings)]) }),
  z.strictObject({ by: z.literal('ranges'), dimension: z.string(), ranges: z.array(z.strictObject({ min: z.number().optional(), max: z.number().optional() })).min(1) }),
  z.strictObject({ by: z.literal('query'), dimension: z.string(), dataset: z.string().optional(), max_size: count.optional(), min_groups: count.optional() }),
]);
const step = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  tasks: z.string().optional(),
  prerequisites: z.union([z.string().transform((s) => [s]), z.array(z.string())]).optional(),
  split: split.optional(),
  inputs: collections.optional(),
  constraint: z.string().optional(),
  produces: z.array(z.string()).default([]),
  review: z.boolean().default(false),
  mode: z.enum(MODES).optional(),
  bps: bpsSettings.optional(),
  ...settings,
});
const campaignSchema = z.strictObject({
  description: z.string().optional(),
  pipeline: z.string(),
  butler: z.string(),
  inputs: collections,
  query: z.string().default(''),
  output: z.string(),
  mode: z.enum(MODES).default('pipetask'),
  bps: bpsSettings.optional(),
  resources: resources.optional(),
  steps: z.array(step).min(1),
  output_dir: z.string().default('results/{run}/outputs'),
  log_dir: z.string().default('results/{run}/logs'),
  site: z.string().optional(),
  backend: z.enum(BACKENDS).optional(),
  requested_resources: count.optional(),
  nodes: count.optional(),
  deadline: runtimeSchema.optional(),
  retries: retriesSchema.optional(),
  pre_script: z.string().nullish().transform((v) => v ?? ''),
  post_script: z.string().nullish().transform((v) => v ?? ''),
});
type CampaignFile = z.output<typeof campaignSchema>;
type StepFile = CampaignFile['steps'][number];
type ValueSettings = NonNullable<z.output<typeof valueSettings>>;

/** Whether a run file's data is a Rubin campaign. */
export function isRubinCampaign(data: unknown): boolean {
  return !!data && typeof data === 'object' && !Array.isArray(data) && 'steps' in data && 'pipeline' in data;
}

interface StepGroups {
  step: StepFile;
  index: number;
  split: Split<ValueSettings>;
  groups: Group<ValueSettings>[];
  pipeline: LsstPipeline;
  expression: string;
}

export function loadRubinCampaign(wsRoot: string, y: YamlFile): Run {
  const file = y.file;
  const name = runNameOf(file);
  if (!SAFE_NAME.test(name)) throw configError({ file, message: `campaign name "${name}" has characters Nx cannot use`, fix: 'rename the file with letters, digits, _ . and - only' });
  const c = validate(campaignSchema, y, y.data, [], () => 'see "Rubin campaigns" in README.md');
  const at = (path: KeyPath) => ({ file, line: y.lineOf(path), key: path.map(String).join('.') });
  const problems: Problem[] = [];
  const warnings: Problem[] = [...y.warnings];
  const fail = (path: KeyPath, message: string, fix: string): never => {
    throw configError({ ...at(path), message, fix });
  };

  let base: LsstPipeline;
  try {
    base = loadLsstPipeline(c.pipeline, { cwd: wsRoot });
  } catch (e) {
    if (e instanceof ConfigError && e.problems.length === 1 && e.problems[0].message === 'pipeline file not found') fail(['pipeline'], `pipeline ${c.pipeline} not found`, 'give the LSST pipeline YAML, relative to the workspace root');
    throw e;
  }
  warnings.push(...base.warnings);
  const butlerAbs = isAbsolute(c.butler) ? c.butler : posix.join(wsRoot, c.butler);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(c.butler)) {
    noteFile(posix.join(c.butler, 'butler.yaml'));
    noteFile(posix.join(c.butler, 'gen3.sqlite3'));
    if (!existsSync(butlerAbs)) warnings.push({ ...at(['butler']), message: `butler repository ${c.butler} is not on this machine`, fix: 'create it (butler create), or run where it is' });
  }

  const names = new Map<string, number>();
  const steps: StepGroups[] = c.steps.map((s, i) => {
    const key = ['steps', i];
    if (!NAME_PATTERN.test(s.name)) fail([...key, 'name'], `step name "${s.name}" is not a name`, `use ${NAME_RULE}`);
    if (names.has(s.name)) fail([...key, 'name'], `step ${s.name} is listed twice (also steps[${names.get(s.name)}])`, 'rename one');
    names.set(s.name, i);
    const expression = (s.tasks ?? s.name).replace(/^#/, '');
    let pipeline: LsstPipeline;
    try {
      pipeline = selectTasks(base, expression, at([...key, s.tasks === undefined ? 'name' : 'tasks']));
    } catch (e) {
      if (e instanceof ConfigError && s.tasks === undefined) throw new ConfigError(e.problems.map((p) => ({ ...p, fix: `${p.fix ?? ''}; a step runs the pipeline subset of its name unless it says tasks: "#labels"`.replace(/^; /, '') })));
      throw e;
    }
    const sp = splitOf(s, key, fail);
    return { step: s, index: i, split: sp, groups: [], pipeline, expression };
  });

  // Prerequisites: named steps (default the one before); a loop is refused.
  const prerequisites = new Map<string, string[]>();
  for (const g of steps) {
    const key = ['steps', g.index, 'prerequisites'];
    const pre = g.step.prerequisites ?? (g.index > 0 ? [c.steps[g.index - 1].name] : []);
    pre.forEach((p, j) => {
      const i = names.get(p);
      if (i === undefined) fail([...key, j], `no step "${p}"`, `name one of: ${c.steps.map((s) => s.name).join(', ')}`);
      if (i! >= g.index) fail([...key, j], `step ${p} comes after ${g.step.name}`, 'list steps in the order they run; a prerequisite comes before');
    });
    prerequisites.set(g.step.name, pre);
  }

  // Groups; a split by query asks the butler for the values (at load: the values must exist).
  const producedBy = new Map<string, string>();
  for (const g of steps) for (const t of g.step.produces) producedBy.set(t, g.step.name);
  for (const g of steps) {
    let found: SplitValue[] = [];
    if (g.split.by === 'query') {
      const key = ['steps', g.index, 'split'];
      const maker = g.split.dataset && producedBy.get(g.split.dataset);
      if (maker) fail([...key, 'dataset'], `split by query on ${g.split.dataset}, which step ${maker} produces: its values are not known before ${maker} has run`, `split by values or ranges, or keep one group and select with constraint: ${g.split.dataset}`);
      const where = andQuery(c.query, g.step.query);
      try {
        found = distinctValues(c.butler, g.split.dimension, { collections: [...c.inputs, ...(g.step.inputs ?? [])], dataset: g.split.dataset, where, cwd: wsRoot });
      } catch (e) {
        if (!(e instanceof ButlerError)) throw e;
        fail(key, `could not query the values of ${g.split.dimension}: ${e.message}`, e.notFound ? BUTLER_NOT_FOUND_FIX : `reproduce with: ${e.argv.join(' ')}`);
      }
      if (!found.length) fail(key, `the query finds no ${g.split.dimension} to split (${where || 'no query'}${g.split.dataset ? `, dataset ${g.split.dataset}` : ''})`, 'check the butler repository, the inputs and the query');
    }
    g.groups = groupsOf(g.step.name, g.split, found);
  }

  const byName = new Map(steps.map((g) => [g.step.name, g]));
  const outputOf = (g: StepGroups, group: Group<ValueSettings>) => (g.split.by === 'none' ? `${c.output}/${g.step.name}` : `${c.output}/${g.step.name}/${group.name}`);
  const reviewed = (s: string) => byName.get(s)!.step.review;
  const outputDir = c.output_dir.replaceAll('{run}', name);
  const stages: Stage[] = [];
  for (const g of steps) {
    const key = ['steps', g.index];
    const labels = new Set(g.pipeline.tasks.keys());
    const overrides = (list: string[] | undefined, path: KeyPath) =>
      (list ?? []).map((o, j) => {
        const m = OVERRIDE.exec(o);
        if (!m) fail([...path, j], `"${o}" is not label:field=value`, 'write e.g. isr:doBias=False, as pipetask -c takes it');
        if (!labels.has(m![1])) fail([...path, j], `${m![1]} is not a task of step ${g.step.name} (${[...labels].join(', ')})`, 'name a task the step runs');
        return o;
      });
    const configFiles = (list: string[] | undefined, path: KeyPath) =>
      (list ?? []).map((o, j) => {
        const m = CONFIG_FILE.exec(o);
        if (!m) fail([...path, j], `"${o}" is not label:file`, 'write e.g. calibrateImage:config/calibrate.py, as pipetask -C takes it');
        if (!labels.has(m![1])) fail([...path, j], `${m![1]} is not a task of step ${g.step.name}`, 'name a task the step runs');
        if (!existsSync(posix.join(wsRoot, m![2]))) problems.push({ ...at([...path, j]), message: `config file ${m![2]} not found`, fix: 'give a file relative to the workspace root' });
        noteFile(m![2]);
        return { arg: o, file: m![2] };
      });
    const stepConfig = overrides(g.step.config, [...key, 'config']);
    const stepFiles = configFiles(g.step.config_files, [...key, 'config_files']);
    for (const group of g.groups) {
      const gkey: KeyPath = g.split.by === 'values' && !Array.isArray(group.value) && group.settings ? [...key, 'split', 'values', String(group.value)] : key;
      const own = group.settings ?? {};
      const config = [...stepConfig, ...overrides(own.config, [...gkey, 'config'])];
      const files = [...stepFiles, ...configFiles(own.config_files, [...gkey, 'config_files'])];
      const depends: string[] = [];
      const upstreamOutputs: string[] = [];
      const gates: StageCheck[] = [];
      for (const p of prerequisites.get(g.step.name)!) {
        const pg = byName.get(p)!;
        const matching = group.value !== undefined && sameValues(pg.split, g.split) ? pg.groups.filter((x) => x.value === group.value) : pg.groups;
        for (const x of matching) {
          depends.push(x.name);
          upstreamOutputs.push(outputOf(pg, x));
        }
        if (reviewed(p)) gates.push({ kind: 'accepted', step: p });
      }
      const inputs = [...new Set([...upstreamOutputs, ...c.inputs, ...(g.step.inputs ?? [])])];
      const query = andQuery(c.query, g.step.query, own.query, group.condition);
      const output = outputOf(g, group);
      const r = mergeResources(toResources(c.resources), toResources(g.step.resources), toResources(own.resources));
      const qgraph = posix.join(outputDir, `${group.name}.qgraph`);
      const pipelineUri = `${c.pipeline}#${g.expression}`;
      const common = ['-b', c.butler, '-i', inputs.join(','), '-o', output];
      const mode = g.step.mode ?? c.mode;
      const submitFile = posix.join(outputDir, 'bps', `${group.name}.yaml`);
      const bps = { ...(c.bps ?? {}), ...(g.step.bps ?? {}) };
      const qgraphArgv: string[] = ['pipetask', '--long-log', '--log-level=VERBOSE', 'qgraph', ...common, '-p', pipelineUri, ...(query ? ['-d', query] : []), ...config.flatMap((o) => ['-c', o]), ...files.flatMap((f) => ['-C', f.arg]), ...(g.step.constraint ? ['--dataset-query-constraint', g.step.constraint] : []), '--save-qgraph', qgraph];
      stages.push({
        name: group.name,
        pipeline: name,
        argv: mode === 'bps' ? ['bps', 'submit', submitFile] : ['pipetask', '--long-log', '--log-level=VERBOSE', 'run', ...common, '-g', qgraph, '-j', String(r.threads), '--register-dataset-types'],
        env: {},
        inputs: [],
        outputs: [],
        depends,
        resources: r,
        config: {
          step: g.step.name,
          group: group.name,
          mode,
          butler: c.butler,
          pipeline: pipelineUri,
          qgraph,
          query,
          inputs,
          output,
          overrides: config,
          configFiles: files.map((f) => f.arg),
          ...(g.step.constraint ? { constraint: g.step.constraint } : {}),
          ...(g.step.produces.length ? { produces: g.step.produces } : {}),
          ...(g.step.review ? { review: true } : {}),
          ...(mode === 'bps' ? { submitFile, bps } : {}),
          tasks: Object.fromEntries([...g.pipeline.tasks.values()].map((t) => [t.label, { class: t.class, config: flatConfig(t) }])),
        },
        definitionFiles: [...new Set([file, ...g.pipeline.files.filter((f) => !isAbsolute(f)), ...files.map((f) => f.file)])],
        cwd: '.',
        checks: {
          before: [...gates, { kind: 'command', what: 'quantum graph', argv: qgraphArgv }],
          ...(g.step.produces.length ? { after: [{ kind: 'datasets', butler: c.butler, collection: output, datasetTypes: g.step.produces }] } : {}),
        },
        source: { file, key: gkey as (string | number)[] },
      });
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const folderProblems = [...folderProblem(y, 'output_dir', outputDir, {}, [file, c.pipeline]), ...folderProblem(y, 'log_dir', c.log_dir.replaceAll('{run}', name), {}, [file, c.pipeline])];
  if (folderProblems.length) throw new ConfigError(folderProblems);
  const dag = buildDag(stages, {}, file, (src) => y.lineOf(src.key));
  return {
    name,
    file,
    outputDir: posix.normalize(outputDir),
    logDir: posix.normalize(c.log_dir.replaceAll('{run}', name)),
    inputs: {},
    resume: 'resume',
    preScript: c.pre_script,
    postScript: c.post_script,
    pipelines: [{ name, file: c.pipeline }],
    dag,
    stages: dag.order,
    warnings,
    site: c.site,
    backend: c.backend,
    requestedResources: c.requested_resources,
    nodes: c.nodes,
    deadline: c.deadline,
    retries: c.retries,
  };
}

function toResources(r: RubinResources | undefined): ResourcesInput | undefined {
  if (!r) return undefined;
  return { ...(r.cores !== undefined ? { ranks: 1, threads: r.cores } : {}), ...(r.nodes !== undefined ? { nodes: r.nodes } : {}), ...(r.memory !== undefined ? { memory: r.memory } : {}), ...(r.runtime !== undefined ? { runtime: r.runtime } : {}) };
}

/** The step's split as data, its dimension and values checked (they go into data queries). */
function splitOf(s: StepFile, key: KeyPath, fail: (path: KeyPath, message: string, fix: string) => never): Split<ValueSettings> {
  const sp = s.split;
  if (!sp) return { by: 'none' };
  const path = [...key, 'split'];
  if (!DIMENSION.test(sp.dimension)) fail([...path, 'dimension'], `"${sp.dimension}" is not a dimension name`, 'write e.g. band, visit or tract');
  if (sp.by === 'ranges') return { by: 'ranges', dimension: sp.dimension, ranges: sp.ranges };
  if (sp.by === 'query') return { by: 'query', dimension: sp.dimension, dataset: sp.dataset, maxSize: sp.max_size, minGroups: sp.min_groups };
  const checkValue = (v: SplitValue, at: KeyPath) => {
    if (typeof v === 'string' && !/^[A-Za-z0-9_.+-]+$/.test(v)) fail(at, `split value ${JSON.stringify(v)} is not a plain value`, 'values are letters, digits and _ . + -: they go into data queries and stage names');
    return v;
  };
  if (Array.isArray(sp.values)) {
    return { by: 'values', dimension: sp.dimension, values: sp.values.map((v, i) => ({ value: Array.isArray(v) ? v.map((x, j) => checkValue(x, [...path, 'values', i, j])) : checkValue(v, [...path, 'values', i]) })) };
  }
  return {
    by: 'values',
    dimension: sp.dimension,
    values: Object.entries(sp.values).map(([v, settings]) => {
      const typed = /^-?\d+$/.test(v) ? Number(v) : v;
      return { value: checkValue(typed, [...path, 'values', v]), settings: settings ?? undefined };
    }),
  };
}

/** Two steps split by the same dimension into the same single values: their groups match one to one. */
function sameValues(a: Split<unknown>, b: Split<unknown>): boolean {
  if (a.by !== 'values' || b.by !== 'values' || a.dimension !== b.dimension) return false;
  const set = (s: typeof a) => s.values.map((v) => JSON.stringify(v.value)).sort().join();
  return set(a) === set(b);
}
