/**
 * socm TOML campaigns (`runs/<campaign>.toml`) as runs: `[campaign]` settings, one workflow per
 * `[campaign.<type>]` table, `ml-null-tests` as a sub-campaign whose shared keys reach each of
 * its tests (a key the test's own table sets wins). Each workflow's stages come from its type.
 */
import { readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { z } from 'zod';
import { buildDag } from '../graph/dag';
import { SAFE_NAME, runNameOf, type Run } from '../model/run';
import type { Stage } from '../model/stage';
import { noteFile } from '../util/consulted';
import { selectObservations, filePath } from '../workflows/obsdb';
import { BUILTIN_NAMES, workflowType } from '../workflows/registry';
import type { WorkflowContext, WorkflowType } from '../workflows/types';
import { CampaignError, ConfigError, configError, type Problem } from './errors';
import { mergeResources, resourcesSchema, runtimeSchema } from './resources';
import { validate } from './validate';
import type { KeyPath, YamlFile } from './yaml-file';

const NULL_TESTS = 'ml-null-tests';
const SETTINGS = ['deadline', 'resource', 'execution_schema', 'requested_resources', 'policy', 'resources', 'output_dir', 'log_dir', 'backend'];

const campaignSchema = z.object({
  deadline: runtimeSchema.optional(),
  resource: z.string().optional(),
  execution_schema: z.enum(['batch', 'remote', 'local']).optional(),
  requested_resources: z.number().int().positive().optional(),
  policy: z.literal('time', { message: 'policy "time" is the only one (socm has no other)' }).optional(),
  resources: z.strictObject({ nodes: z.number().int().positive().optional(), 'cores-per-node': z.number().int().positive().optional() }).optional(),
  output_dir: z.string().default('results/{run}/outputs'),
  log_dir: z.string().default('results/{run}/logs'),
  backend: z.enum(['local', 'slurm', 'allocation']).optional(),
});

/** Line numbers of TOML tables and keys, by key path (what smol-toml does not keep). */
export function tomlLines(text: string): (path: KeyPath) => number | undefined {
  const lines = new Map<string, number>();
  const unquote = (k: string) => k.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  let table: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    const header = /^\[\[?([^\]]+)\]\]?$/.exec(line);
    if (header) {
      table = header[1].split('.').map(unquote);
      if (!lines.has(table.join('\0'))) lines.set(table.join('\0'), i + 1);
      return;
    }
    const kv = /^([^=]+?)\s*=/.exec(line);
    if (kv) {
      const key = [...table, ...kv[1].split('.').map(unquote)].join('\0');
      if (!lines.has(key)) lines.set(key, i + 1);
    }
  });
  return (path) => {
    // The key, else the closest enclosing table that has a line.
    for (let n = path.length; n > 0; n--) {
      const l = lines.get(path.slice(0, n).map(String).join('\0'));
      if (l !== undefined) return l;
    }
    return undefined;
  };
}

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

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
  let data: Record<string, unknown>;
  try {
    data = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    throw configError({ file, line: e.line, message: `not valid TOML: ${e.message.split('\n')[0].replace(/^Invalid TOML document: /, '')}`, fix: 'see https://toml.io; strings need quotes, tables [like.this]' });
  }
  const lineOf = tomlLines(text);
  const source: YamlFile = { file, data, lineOf, warnings: [] };
  const top = Object.keys(data).filter((k) => k !== 'campaign');
  if (!isTable(data.campaign)) throw configError({ file, line: 1, key: 'campaign', message: 'no [campaign] table', fix: 'start the file with [campaign] (deadline, resource, ...) and one [campaign.<workflow>] table per workflow' });
  if (top.length) throw configError({ file, line: lineOf([top[0]]), key: top[0], message: `"${top[0]}" is outside [campaign]`, fix: `move it under [campaign]` });
  const c = data.campaign;
  const settings = validate(campaignSchema, source, Object.fromEntries(Object.entries(c).filter(([k]) => SETTINGS.includes(k))), ['campaign'], () => 'see "socm campaigns" in README.md');
  const known = BUILTIN_NAMES;
  const types = new Map<string, WorkflowType>();
  /** The type, or undefined; a custom type that fails to load is a problem at `key`. */
  const typeOf = (name: string, key: string[]) => {
    if (!types.has(name)) {
      try {
        const t = workflowType(wsRoot, name);
        if (t) types.set(name, t);
      } catch (e) {
        if (!(e instanceof CampaignError)) throw e;
        const [message, ...fix] = e.message.split('\n');
        throw configError({ file, line: lineOf(key), key: key.join('.'), message, fix: fix.join(' ').replace(/^\s*fix:\s*/, '') || undefined });
      }
    }
    return types.get(name);
  };
  const problems: Problem[] = [];

  /** [table path, merged options, resources, environment] for each workflow. */
  const workflows: { table: string; key: string[]; options: Record<string, unknown>; resources: { value: unknown; key: string[] }[]; env: Record<string, unknown> }[] = [];
  const split = (t: Record<string, unknown>) => {
    const { resources, environment, ...rest } = t;
    return { resources, environment: isTable(environment) ? environment : {}, rest };
  };
  for (const [key, value] of Object.entries(c)) {
    if (SETTINGS.includes(key)) continue;
    if (!isTable(value)) {
      problems.push({ file, line: lineOf(['campaign', key]), key: `campaign.${key}`, message: `unknown campaign setting "${key}"`, fix: `settings are ${SETTINGS.join(', ')}; workflows are tables: ${known.join(', ')}` });
      continue;
    }
    if (key === NULL_TESTS) {
      // The sub-campaign's own keys are shared by its tests; a test's table wins over them.
      const shared = split(value);
      const sharedKeys = Object.fromEntries(Object.entries(shared.rest).filter(([, v]) => !isTable(v)));
      for (const [test, t] of Object.entries(shared.rest)) {
        if (!isTable(t)) continue;
        const full = `${NULL_TESTS}.${test}`;
        if (!typeOf(full, ['campaign', key, test])) {
          problems.push({ file, line: lineOf(['campaign', key, test]), key: `campaign.${full}`, message: `unknown null test "${test}"`, fix: `use one of: ${known.filter((k) => k.startsWith(`${NULL_TESTS}.`)).map((k) => k.slice(NULL_TESTS.length + 1)).join(', ')}` });
          continue;
        }
        const own = split(t);
        workflows.push({
          table: full,
          key: ['campaign', key, test],
          options: { ...sharedKeys, ...own.rest },
          resources: [
            { value: shared.resources, key: ['campaign', key, 'resources'] },
            { value: own.resources, key: ['campaign', key, test, 'resources'] },
          ],
          env: { ...shared.environment, ...own.environment },
        });
      }
      continue;
    }
    if (!typeOf(key, ['campaign', key])) {
      problems.push({ file, line: lineOf(['campaign', key]), key: `campaign.${key}`, message: `unknown workflow type "${key}"`, fix: `use one of: ${known.join(', ')} (or add workflows/${key}.js; see "Custom workflow types" in README.md)` });
      continue;
    }
    const own = split(value);
    workflows.push({ table: key, key: ['campaign', key], options: own.rest, resources: [{ value: own.resources, key: ['campaign', key, 'resources'] }], env: own.environment });
  }
  if (problems.length) throw new ConfigError(problems);
  if (!workflows.length) throw configError({ file, line: lineOf(['campaign']), key: 'campaign', message: 'no workflow', fix: `add a [campaign.<workflow>] table: ${known.join(', ')}` });

  const stages: Stage[] = [];
  const sub = (p: string) => p.replaceAll('{run}', name);
  const outputDir = resolve(wsRoot, sub(settings.output_dir)).split('\\').join('/');
  for (const w of workflows) {
    const type = types.get(w.table)!;
    const at = (k: KeyPath) => ({ file, line: lineOf([...w.key, ...k]), key: [...w.key, ...k].join('.') });
    try {
      const options = validate(type.options, source, w.options, w.key, () => `see the ${w.table} options in README.md ("socm campaigns")`);
      const defaults = type.resources ? resourcesSchema.safeParse(type.resources) : undefined;
      if (defaults && !defaults.success) throw new CampaignError(`workflow type ${w.table} declares bad default resources: ${defaults.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const resources = mergeResources(defaults?.data, ...w.resources.map((r) => (r.value === undefined ? undefined : validate(resourcesSchema, source, r.value, r.key, () => 'resources take ranks, threads, nodes, memory (e.g. 48G), runtime (e.g. 2h)'))));
      const env = Object.fromEntries(Object.entries(w.env).map(([k, v]) => [k, String(v)]));
      const ctx: WorkflowContext = {
        wsRoot,
        file,
        table: w.table,
        path: (v) => filePath(v, wsRoot),
        folder: (v) => resolve(wsRoot, v.startsWith('file://') ? filePath(v, wsRoot) : v),
        observations: (context, query) => {
          const contextFile = filePath(context.startsWith('file://') ? context : `file://${context}`, wsRoot);
          noteFile(contextFile);
          return selectObservations(contextFile, query, wsRoot);
        },
      };
      // Declared files are keyed by their path relative to the campaign's output folder, as run stages' are.
      const relative = (p: string) => posix.relative(outputDir, resolve(wsRoot, p).split('\\').join('/'));
      for (const s of type.stages(options, ctx)) {
        stages.push({
          name: s.name,
          pipeline: w.table,
          argv: s.argv,
          env,
          inputs: (s.inputs ?? []).map(relative),
          outputs: (s.outputs ?? []).map((p) => ({ key: relative(p), path: relative(p) })),
          depends: s.depends ?? [],
          resources,
          config: options as Record<string, unknown>,
          definitionFiles: s.definitionFiles ?? [],
          source: { file, key: w.key },
          files: s.files,
          given: s.given,
        });
      }
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      if (!(e instanceof CampaignError)) throw e;
      throw configError({ ...at([]), message: e.message.split('\n')[0], fix: e.message.split('\n').slice(1).join(' ').replace(/^\s*fix:\s*/, '') || undefined });
    }
  }

  const dag = buildDag(stages, {}, file, (src) => lineOf(src.key));
  return {
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
    warnings: [],
    site: settings.resource,
    backend: settings.backend,
    requestedResources: settings.requested_resources,
    nodes: settings.resources?.nodes,
    deadline: settings.deadline,
  };
}
