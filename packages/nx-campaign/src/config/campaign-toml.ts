/**
 * socm TOML campaigns (`runs/<campaign>.toml`) as runs: `[campaign]` settings, one workflow per
 * `[campaign.<type>]` table, `ml-null-tests` as a sub-campaign whose shared keys reach each of
 * its tests (a key the test's own table sets wins, with a warning where socm would differ).
 * Each workflow's stages come from its type. See REFERENCE.md section 1 for socm's rules.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, TomlError } from 'smol-toml';
import { z } from 'zod';
import { buildDag } from '../graph/dag';
import { BACKENDS, SAFE_NAME, runNameOf, type Run } from '../model/run';
import type { Stage } from '../model/stage';
import { ENV_NAME_PATTERN } from '../format/names';
import { closestName } from '../util/closest';
import { noteFile } from '../util/consulted';
import { contextPath, filePath, obsdbNamedBy, selectObservations } from '../workflows/obsdb';
import { BUILTIN_NAMES, workflowType } from '../workflows/registry';
import { NULL_TESTS } from '../workflows/splits';
import { WorkflowOptionError, type WorkflowContext, type WorkflowType } from '../workflows/types';
import { CampaignError, ConfigError, configError, type Problem } from '../format/errors';
import { parseMemoryMB, parseRuntimeSeconds } from '../format/quantities';
import { mergeResources, resourcesSchema, runtimeSchema, type ResourcesInput } from '../format/resources';
import { folderProblem } from './folders';
import { missingFiles } from './missing-files';
import { tomlLines } from '../format/source-file';
import { validate } from '../format/validate';
import type { KeyPath, YamlFile } from '../format/yaml-file';

const NULL_TESTS_TABLE = 'ml-null-tests';
const TEST_TABLES = NULL_TESTS.map((t) => `${t}-tests`);
const SETTINGS = ['deadline', 'resource', 'execution_schema', 'requested_resources', 'policy', 'resources', 'output_dir', 'log_dir', 'backend'];
/** What socm refuses a campaign without. */
const REQUIRED_BY_SOCM = ['deadline', 'execution_schema', 'requested_resources'];

const campaignSchema = z.object({
  deadline: runtimeSchema.optional(),
  resource: z.string().default('tiger3'),
  execution_schema: z.enum(['batch', 'remote', 'local']).optional(),
  requested_resources: z.number().int().positive().optional(),
  policy: z.literal('time', { message: 'policy "time" is the only one (socm has no other)' }).optional(),
  resources: z.strictObject({ nodes: z.number().int().positive().optional(), 'cores-per-node': z.number().int().positive().optional() }).optional(),
  output_dir: z.string().default('results/{run}/outputs'),
  log_dir: z.string().default('results/{run}/logs'),
  backend: z.enum(BACKENDS).optional(),
});

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** TOML with integers told from floats (socm prints `2.0` for a float): BigInt integers become numbers, float paths are kept. */
function parseToml(text: string): { data: Table; floats: Set<string> } {
  const floats = new Set<string>();
  const walk = (v: unknown, path: string[]): unknown => {
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'number') {
      floats.add(path.join('\0'));
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (isTable(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    return v;
  };
  return { data: walk(parse(text, { integersAsBigInt: true }), []) as Table, floats };
}

/** One workflow to build: its table, options after the sub-campaign's shared ones, resources and environment layers. */
interface WorkflowTable {
  table: string;
  key: string[];
  options: Table;
  /** Option key -> the table path its value came from (for floats and lines). */
  origin: Map<string, string[]>;
  resources: { value: unknown; key: string[] }[];
  env: Table;
}

/** Load a socm TOML campaign file as a run. */
export function loadCampaignToml(wsRoot: string, file: string): Run {
  const name = runNameOf(file);
  if (!SAFE_NAME.test(name)) throw configError({ file, message: `campaign name "${name}" has characters Nx cannot use`, fix: 'rename the file with letters, digits, _ . and - only' });
  noteFile(file);
  let text: string;
  try {
    text = readFileSync(join(wsRoot, file), 'utf8');
  } catch (e) {
    throw configError({ file, message: `cannot read: ${(e as Error).message}` });
  }
  let parsed: { data: Table; floats: Set<string> };
  try {
    parsed = parseToml(text);
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    throw configError({ file, line: e.line, message: `not valid TOML: ${e.message.split('\n')[0].replace(/^Invalid TOML document: /, '')}`, fix: 'see https://toml.io; strings need quotes, tables [like.this]' });
  }
  const { data, floats } = parsed;
  const lineOf = tomlLines(text);
  const at = (key: KeyPath) => ({ file, line: lineOf(key), key: key.join('.') });
  const source: YamlFile = { file, data, lineOf, warnings: [] };
  const warnings: Problem[] = [];
  const problems: Problem[] = [];

  const top = Object.keys(data).filter((k) => k !== 'campaign');
  if (!isTable(data.campaign)) throw configError({ file, line: 1, key: 'campaign', message: 'no [campaign] table', fix: 'start the file with [campaign] (deadline, resource, ...) and one [campaign.<workflow>] table per workflow' });
  if (top.length) throw configError({ ...at([top[0]]), message: `"${top[0]}" is outside [campaign]`, fix: `move it under [campaign]` });
  const c = data.campaign;
  const settings = validate(campaignSchema, source, Object.fromEntries(Object.entries(c).filter(([k]) => SETTINGS.includes(k))), ['campaign'], () => 'see "socm campaigns" in README.md');
  for (const k of REQUIRED_BY_SOCM) {
    if (c[k] === undefined) warnings.push({ ...at(['campaign']), key: `campaign.${k}`, message: `no ${k}: socm refuses a campaign without it${k === 'requested_resources' ? '; planned on the whole site' : k === 'deadline' ? '; planned without a deadline' : ''}`, fix: `set ${k} under [campaign] (see "socm campaigns" in README.md)` });
  }

  const types = new Map<string, WorkflowType>();
  /** The type, or undefined; a custom type that fails to load is a problem at `key`. */
  const typeOf = (type: string, key: string[]) => {
    if (!types.has(type)) {
      try {
        const t = workflowType(wsRoot, type);
        if (t) types.set(type, t);
      } catch (e) {
        if (!(e instanceof CampaignError)) throw e;
        const [message, ...fix] = e.message.split('\n');
        throw configError({ ...at(key), message, fix: fix.join(' ').replace(/^\s*fix:\s*/, '') || undefined });
      }
    }
    return types.get(type);
  };
  const unknown = (what: string, key: string[], known: string[], fix: string) => {
    const guess = closestName(key[key.length - 1], known);
    problems.push({ ...at(key), key: key.join('.'), message: `unknown ${what} "${key[key.length - 1]}"${guess ? ` (did you mean "${guess}"?)` : ''}`, fix });
  };

  const workflows: WorkflowTable[] = [];
  const split = (t: Table) => {
    const { resources, environment, ...rest } = t;
    return { resources, environment: isTable(environment) ? environment : {}, rest };
  };
  const originOf = (options: Table, base: string[]) => new Map(Object.keys(options).map((k) => [k, [...base, k]]));
  for (const [key, value] of Object.entries(c)) {
    if (SETTINGS.includes(key)) continue;
    if (!isTable(value)) {
      problems.push({ ...at(['campaign', key]), message: `unknown campaign setting "${key}"`, fix: `settings are ${SETTINGS.join(', ')}; workflows are tables: ${BUILTIN_NAMES.join(', ')}` });
      continue;
    }
    if (key !== NULL_TESTS_TABLE) {
      if (!typeOf(key, ['campaign', key])) {
        unknown('workflow type', ['campaign', key], BUILTIN_NAMES, `use one of: ${BUILTIN_NAMES.join(', ')} (or add workflows/${key}.js; see "Custom workflow types" in README.md)`);
        continue;
      }
      const own = split(value);
      workflows.push({ table: key, key: ['campaign', key], options: own.rest, origin: originOf(own.rest, ['campaign', key]), resources: [{ value: own.resources, key: ['campaign', key, 'resources'] }], env: own.environment });
      continue;
    }
    // The sub-campaign: every key but its tests is shared by each test. socm lets the shared
    // value win; here the test's own value wins, and each disagreement is a warning.
    const base = ['campaign', key];
    const shared = split(value);
    const sharedOptions = Object.fromEntries(Object.entries(shared.rest).filter(([, v]) => !isTable(v)));
    for (const [k, v] of Object.entries(shared.rest)) {
      if (isTable(v) && !TEST_TABLES.includes(k)) unknown('null test', [...base, k], TEST_TABLES, `use one of: ${TEST_TABLES.join(', ')}`);
    }
    // socm generates the tests in its registry's order, not the file's.
    for (const test of TEST_TABLES) {
      const t = shared.rest[test];
      if (!isTable(t)) continue;
      const own = split(t);
      const testKey = [...base, test];
      const differ = (ownTable: Table, sharedTable: Table, ownKey: string[], sharedKey: string[]) => {
        for (const [k, v] of Object.entries(ownTable)) {
          if (k in sharedTable && !isDeepStrictEqual(v, sharedTable[k])) {
            warnings.push({ ...at([...ownKey, k]), message: `${JSON.stringify(v)} is used, not the ${JSON.stringify(sharedTable[k])} of ${sharedKey.join('.')}.${k} (line ${lineOf([...sharedKey, k])}): socm would use ${JSON.stringify(sharedTable[k])}, since its shared keys win`, fix: 'set it in one place only' });
          }
        }
      };
      differ(own.rest, sharedOptions, testKey, base);
      if (isTable(own.resources) && isTable(shared.resources)) differ(own.resources, shared.resources, [...testKey, 'resources'], [...base, 'resources']);
      differ(own.environment, shared.environment, [...testKey, 'environment'], [...base, 'environment']);
      const full = `${NULL_TESTS_TABLE}.${test}`;
      typeOf(full, testKey);
      workflows.push({
        table: full,
        key: testKey,
        options: { ...sharedOptions, ...own.rest },
        origin: new Map([...originOf(sharedOptions, base), ...originOf(own.rest, testKey)]),
        resources: [
          { value: shared.resources, key: [...base, 'resources'] },
          { value: own.resources, key: [...testKey, 'resources'] },
        ],
        env: { ...shared.environment, ...own.environment },
      });
    }
  }
  if (problems.length) throw new ConfigError(problems);
  if (!workflows.length) throw configError({ ...at(['campaign']), message: 'no workflow', fix: `add a [campaign.<workflow>] table: ${BUILTIN_NAMES.join(', ')}` });

  const stages: Stage[] = [];
  const sub = (p: string) => p.replaceAll('{run}', name);
  const outputDir = resolve(wsRoot, sub(settings.output_dir)).split('\\').join('/');
  // Declared files are keyed by their path relative to the campaign's output folder, as run stages' are.
  const relative = (p: string) => posix.relative(outputDir, resolve(wsRoot, p).split('\\').join('/'));
  for (const w of workflows) {
    const type = types.get(w.table)!;
    const located = (k: string | undefined) => at(k === undefined ? w.key : (w.origin.get(k) ?? [...w.key, k]));
    try {
      const options = validate(type.options, source, w.options, w.key, () => `see the ${w.table} options in README.md ("socm campaigns")`) as Table;
      if (type.forwardsUnknownOptions) warnTypos(type, w, located, warnings);
      if (typeof options.output_dir === 'string') {
        const problem = workflowFolderProblem(wsRoot, options.output_dir, options);
        if (problem) throw new WorkflowOptionError('output_dir', problem, `give the workflow a folder of its own, e.g. results/${name}/maps`);
      }
      const resources = mergeResources(defaultResources(type), ...w.resources.map((r) => socmResources(r.value, r.key, at, warnings, problems)));
      if (w.resources.every((r) => r.value === undefined)) warnings.push({ ...located(undefined), message: `no [${w.key.join('.')}.resources]: socm refuses a workflow without it; planned with 1 rank x 1 thread, 2G, 1h`, fix: `add [${w.key.join('.')}.resources] with ranks, threads, memory and runtime` });
      const env = Object.fromEntries(Object.entries(w.env).map(([k, v]) => [k, String(v)]));
      for (const k of Object.keys(env)) {
        if (!ENV_NAME_PATTERN.test(k)) problems.push({ ...at([...w.key, 'environment', k]), message: `"${k}" is not an environment variable name`, fix: 'use letters, digits and _, not starting with a digit' });
      }
      const ctx: WorkflowContext = {
        wsRoot,
        file,
        table: w.table,
        path: (v) => filePath(v, wsRoot),
        folder: (v) => resolve(wsRoot, v.startsWith('file://') ? filePath(v, wsRoot) : v),
        observations: (context, query, columns) => {
          const contextFile = contextPath(context, wsRoot);
          noteFile(contextFile);
          if (query.startsWith('file://')) noteFile(filePath(query, wsRoot));
          const { observations, notFound } = selectObservations(contextFile, query, wsRoot, columns);
          if (notFound.length) warnings.push({ ...located('query'), message: `${notFound.length} obs id(s) of ${query} are not in the obsdb (${notFound.slice(0, 3).join(', ')}${notFound.length > 3 ? ', ...' : ''}); they are left out, as socm does`, fix: 'correct the list, or the context' });
          return observations;
        },
        floats: new Set([...w.origin].filter(([, path]) => floats.has(path.join('\0'))).map(([k]) => k)),
        warn: (message, fix, key) => warnings.push({ ...located(key), message, fix }),
      };
      for (const s of type.stages(options, ctx)) {
        // Outputs are removed before their stage runs: only the campaign's own folder may hold them.
        for (const o of s.outputs ?? []) {
          const r = relative(o);
          if (r === '' || r.startsWith('../') || r === '..' || posix.isAbsolute(r)) problems.push({ ...located(undefined), message: `workflow ${type.name} declares output ${o}, which is not inside the campaign's output folder ${sub(settings.output_dir)}`, fix: `write it under ${sub(settings.output_dir)}/ (campaign output_dir)` });
        }
        stages.push({
          name: s.name,
          pipeline: w.table,
          argv: s.argv,
          env,
          inputs: (s.inputs ?? []).map(relative),
          outputs: (s.outputs ?? []).map((p) => ({ key: relative(p), path: relative(p) })),
          depends: s.depends ?? [],
          resources,
          config: options,
          definitionFiles: s.definitionFiles ?? [],
          reads: workflowReads(options, wsRoot),
          source: { file, key: w.key },
          files: s.files,
          given: s.given,
        });
      }
    } catch (e) {
      if (e instanceof ConfigError || !(e instanceof CampaignError)) throw e;
      if (e instanceof WorkflowOptionError) throw configError({ ...located(e.key), message: e.message, fix: e.fix });
      throw configError({ ...located(undefined), message: e.message.split('\n')[0], fix: e.message.split('\n').slice(1).join(' ').replace(/^\s*fix:\s*/, '') || undefined });
    }
  }
  if (problems.length) throw new ConfigError(problems);
  if (!stages.length) throw new ConfigError([{ ...at(['campaign']), message: 'the campaign has no stage: every workflow above made none', fix: 'see the warnings: each says why its workflow made no stage' }, ...warnings]);

  const folders = [...folderProblem(source, 'output_dir', sub(settings.output_dir), {}), ...folderProblem(source, 'log_dir', sub(settings.log_dir), {})].map((p) => ({ ...p, line: lineOf(['campaign', p.key!]), key: `campaign.${p.key}` }));
  if (folders.length) throw new ConfigError(folders);
  const dag = buildDag(stages, {}, file, (src) => lineOf(src.key));
  const run: Run = {
    name,
    file,
    outputDir: posix.normalize(sub(settings.output_dir)),
    logDir: posix.normalize(sub(settings.log_dir)),
    inputs: {},
    resume: 'resume',
    preScript: '',
    postScript: '',
    pipelines: [...new Set(workflows.map((w) => w.table))].map((t) => ({ name: t, file, campaign: { deadline: settings.deadline, resource: settings.resource, execution_schema: settings.execution_schema, requested_resources: settings.requested_resources } })),
    dag,
    stages: dag.order,
    warnings,
    site: settings.resource,
    backend: settings.backend,
    requestedResources: settings.requested_resources,
    nodes: settings.resources?.nodes,
    deadline: settings.deadline,
  };
  warnings.push(...missingFiles(wsRoot, run));
  return run;
}

/** A key socm's type does not know is passed on; say so when it looks like a typo of one it knows. */
function warnTypos(type: WorkflowType, w: WorkflowTable, located: (k: string) => Omit<Problem, 'message'>, warnings: Problem[]) {
  const known = Object.keys((type.options as unknown as z.ZodObject).shape ?? {});
  for (const k of Object.keys(w.options)) {
    if (known.includes(k)) continue;
    const guess = closestName(k, known);
    if (guess) warnings.push({ ...located(k), message: `"${k}" is not a ${type.name} option: it is passed on as --${k}=..., as socm does; did you mean "${guess}"?`, fix: `rename it to ${guess}, or keep it if the program takes --${k}` });
  }
}

function defaultResources(type: WorkflowType): ResourcesInput | undefined {
  if (!type.resources) return undefined;
  const r = resourcesSchema.safeParse(type.resources);
  if (!r.success) throw new CampaignError(`workflow type ${type.name} declares bad default resources: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

const RESOURCE_KEYS = ['ranks', 'threads', 'nodes', 'memory', 'memory_per_node', 'runtime'];
const MAX_COUNT = { ranks: 1_000_000, threads: 10_000, nodes: 100_000 };
const bareNumber = (v: unknown) => (typeof v === 'number' && Number.isFinite(v)) || /^\s*\d+(\.\d+)?\s*$/.test(String(v));

/**
 * A `[...resources]` table as socm means it: `memory` is the workflow's total over all its ranks
 * and nodes (`memory_per_node` gives it per node instead), a bare runtime is seconds, and a bare
 * memory is read as MB with a warning (socm's documentation says MB; its code reads bytes).
 */
function socmResources(value: unknown, key: string[], at: (k: KeyPath) => Omit<Problem, 'message'>, warnings: Problem[], problems: Problem[]): ResourcesInput | undefined {
  if (value === undefined) return undefined;
  if (!isTable(value)) {
    problems.push({ ...at(key), message: 'resources must be a table', fix: `write [${key.join('.')}] with ranks, threads, memory, runtime` });
    return undefined;
  }
  const out: ResourcesInput = {};
  const problem = (k: string, message: string, fix: string) => problems.push({ ...at([...key, k]), message, fix });
  for (const [k, v] of Object.entries(value)) {
    if (!RESOURCE_KEYS.includes(k)) {
      warnings.push({ ...at([...key, k]), message: `"${k}" is not a resource socm or this planner uses; ignored${closestName(k, RESOURCE_KEYS) ? ` (did you mean "${closestName(k, RESOURCE_KEYS)}"?)` : ''}`, fix: `resources are ${RESOURCE_KEYS.join(', ')}` });
      continue;
    }
    if (k === 'ranks' || k === 'threads' || k === 'nodes') {
      const max = MAX_COUNT[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) problem(k, `${JSON.stringify(v)} is not a whole number from 1 to ${max}`, `write ${k} = 1 or more`);
      else out[k] = v;
    } else if (k === 'runtime') {
      // A bare number is seconds, as in socm.
      const r = parseRuntimeSeconds(bareNumber(v) ? `${Number(v)}s` : v);
      if ('error' in r) problem(k, r.error, r.fix);
      else out.runtime = r.value;
    } else if (k === 'memory' && bareNumber(v)) {
      const r = parseMemoryMB(`${Number(v)}M`);
      if ('error' in r) {
        problem(k, r.error, r.fix);
        continue;
      }
      warnings.push({ ...at([...key, k]), message: `memory ${JSON.stringify(v)} has no unit: read as ${r.value} MB, as socm's documentation means it; socm itself reads a bare number as bytes (${r.value / 1e6} MB)`, fix: `write "${r.value}M" to say MB` });
      out.memoryTotal = r.value;
    } else {
      const r = parseMemoryMB(v);
      if ('error' in r) problem(k, r.error, r.fix);
      else if (k === 'memory') out.memoryTotal = r.value;
      else out.memory = r.value;
    }
  }
  if ('memory' in value && 'memory_per_node' in value) problem('memory_per_node', 'both memory (the total) and memory_per_node are set', 'keep one of them');
  return out;
}

/** The `file://` files a workflow's options name, and the obsdb its context names: they must exist before its stages run. */
function workflowReads(options: Table, wsRoot: string): string[] {
  const files = Object.values(options).filter((v): v is string => typeof v === 'string' && v.startsWith('file://')).map((v) => filePath(v, wsRoot));
  const context = typeof options.context === 'string' ? contextPath(options.context, wsRoot) : undefined;
  const db = context ? obsdbNamedBy(context) : undefined;
  return [...new Set([...files, ...(db ? [db] : [])])];
}

/**
 * A workflow writes its obs lists and maps into its output_dir: never the workspace root or a
 * folder above it, nor one holding a file the workflow reads (its context, area, preprocessing).
 */
function workflowFolderProblem(wsRoot: string, value: string, options: Table): string | undefined {
  const dir = resolve(wsRoot, value.startsWith('file://') ? filePath(value, wsRoot) : value);
  const inside = (path: string) => {
    const rel = relative(dir, path);
    return !rel.startsWith('..') && !isAbsolute(rel);
  };
  if (inside(wsRoot)) return `output_dir "${value}" is the workspace root${dir === wsRoot ? '' : ' or holds it'}: the workflow would write among the workspace's own files`;
  for (const [key, v] of Object.entries(options)) {
    if (key === 'output_dir' || typeof v !== 'string' || !v.startsWith('file://')) continue;
    if (inside(filePath(v, wsRoot))) return `output_dir "${value}" holds ${key} (${v}): the workflow would write beside what it reads`;
  }
  return undefined;
}
