import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { closestName } from '../util/closest';
import { configError, type Location, type Problem } from '../format/errors';
import { formatKeyPath, readYamlFile, type KeyPath } from '../format/yaml-file';

/**
 * LSST pipeline YAML, loaded as pipe_base's PipelineIR loads it: `imports` (include, exclude,
 * rename, importSteps, importContracts, labeledSubsetModifyMode, instrument) with environment
 * variables in locations, a local task appending its config to an imported task of the same class
 * and replacing one of another class, local subsets overriding imported ones, `parameters.X`
 * values substituted, `#label,subset` and `#a..b` expressions. Nothing in a pipeline runs here:
 * `python:` blocks, config files and contracts are kept as text for the stack.
 */

/** One config block of a task: pipe_base's ConfigIR. */
export interface LsstConfigBlock {
  /** field path -> value, e.g. `connections.exposure: calexp`. */
  rest: Record<string, unknown>;
  file: string[];
  python?: string;
  dataId?: unknown;
}

export interface LsstTask {
  label: string;
  class: string;
  config: LsstConfigBlock[];
  where: Location;
}

export interface LsstSubset {
  labels: string[];
  description?: string;
  where: Location;
}

export interface LsstStep {
  label: string;
  dimensions: string[];
}

export interface LsstPipeline {
  /** The file as shown (workspace-relative inside the workspace, else absolute). */
  file: string;
  description: string;
  instrument?: string;
  parameters: Record<string, unknown>;
  /** In pipe_base's order: imported tasks first, in import order, then the file's own. */
  tasks: Map<string, LsstTask>;
  subsets: Map<string, LsstSubset>;
  steps: LsstStep[];
  contracts: string[];
  /** Problems that do not stop the load (unknown keys; imports absent with `absentImports: 'warn'`). */
  warnings: Problem[];
  /** The files read, as shown: this one and its imports'. */
  files: string[];
}

export interface LsstLoadOptions {
  /** Where relative locations resolve (pipe_base: the current directory) and files are shown from. */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /**
   * `warn`: an import whose file is not on this machine is skipped with a warning, and subset
   * labels it would have defined are not checked (for reading a pipeline without its stack).
   */
  absentImports?: 'error' | 'warn';
}

const TOP_KEYS = ['description', 'instrument', 'imports', 'tasks', 'subsets', 'steps', 'parameters', 'contracts'];
const IMPORT_KEYS = ['location', 'include', 'exclude', 'rename', 'importContracts', 'importSteps', 'labeledSubsetModifyMode', 'instrument'];

/** `path#expr` -> its parts, as pipe_base's `_parse_file_specifier`. */
export function splitPipelineUri(uri: string): { path: string; expression?: string } {
  const hash = uri.indexOf('#');
  if (hash < 0) return { path: uri };
  return { path: uri.slice(0, hash), expression: decodeURIComponent(uri.slice(hash + 1)) || undefined };
}

/** Load `uri` (a path, optionally `#expression`) with its imports; the expression selects tasks. */
export function loadLsstPipeline(uri: string, opts: LsstLoadOptions): LsstPipeline {
  const { path, expression } = splitPipelineUri(uri);
  const where: Location = { file: path };
  if (uri.split('#').length > 2) throw configError({ ...where, message: `"${uri}" has more than one #`, fix: 'write one expression after the file: #step1, #isr,calibrate or #isr..calibrate' });
  const abs = resolve(opts.cwd, path);
  if (!existsSync(abs)) throw configError({ ...where, message: 'pipeline file not found', fix: 'correct the path (relative paths start at the workspace root)' });
  const loader = new Loader(opts);
  const pipeline = loader.load(abs, []);
  substituteParameters(pipeline);
  return expression === undefined ? pipeline : selectTasks(pipeline, expression, where);
}

class Loader {
  constructor(readonly opts: LsstLoadOptions) {}

  shown(abs: string): string {
    const rel = relative(this.opts.cwd, abs);
    return rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
  }

  load(abs: string, chain: string[]): LsstPipeline {
    const file = this.shown(abs);
    const y = readYamlFile(abs, file);
    const at = (path: KeyPath): Location => ({ file, line: y.lineOf(path), key: path.length ? formatKeyPath(path) : undefined });
    const fail = (path: KeyPath, message: string, fix: string): never => {
      throw configError({ ...at(path), message, fix });
    };
    const repeated = y.warnings.find((w) => /is repeated/.test(w.message));
    if (repeated) throw configError({ ...repeated, message: repeated.message.replace(/; the last one is used.*$/, ''), fix: 'pipe_base refuses repeated keys: delete one of the two' });
    const data = y.data;
    if (!isRecord(data)) fail([], 'a pipeline is a mapping (description, tasks, imports, subsets...)', 'start the file with `description: ...` and `tasks:`');
    const doc = data as Record<string, unknown>;
    const warnings: Problem[] = [];
    for (const key of Object.keys(doc)) {
      if (TOP_KEYS.includes(key)) continue;
      if (key === 'subset') fail([key], 'the key is `subsets`, not `subset`', 'rename it to subsets');
      if (key === 'inherits') fail([key], 'the `inherits` key is not supported', 'rename it to imports');
      const near = closestName(key, TOP_KEYS);
      warnings.push({ ...at([key]), message: `"${key}" is not a pipeline key; pipe_base ignores it`, fix: near ? `did you mean ${near}?` : `the keys are ${TOP_KEYS.join(', ')}` });
    }
    if (typeof doc.description !== 'string' || !doc.description.trim()) fail(['description'], 'a pipeline needs a description', 'add `description: what this pipeline does`');
    if (doc.tasks === undefined && doc.imports === undefined) fail([], 'a pipeline needs tasks or imports', 'add a `tasks:` mapping of label: class');
    if (doc.instrument !== undefined && typeof doc.instrument !== 'string') fail(['instrument'], 'only one instrument can be declared, as a class name', 'write instrument: lsst.obs.subaru.HyperSuprimeCam');

    const own: LsstPipeline = {
      file,
      description: doc.description as string,
      instrument: doc.instrument as string | undefined,
      parameters: readParameters(doc.parameters, fail),
      tasks: readTasks(doc.tasks, at, fail),
      subsets: readSubsets(doc.subsets, at, fail),
      steps: readSteps(doc.steps, fail),
      contracts: readContracts(doc.contracts, fail),
      warnings,
      files: [file],
    };
    const imported = this.readImports(doc.imports, [...chain, abs], at, fail, warnings);
    const merged = mergeImports(own, imported, fail);
    verify(merged, fail, warnings.some((w) => w.code === 'absent'));
    return merged;
  }

  private readImports(value: unknown, chain: string[], at: (p: KeyPath) => Location, fail: Fail, warnings: Problem[]): LsstPipeline[] {
    if (value === undefined || value === null) return [];
    const entries = Array.isArray(value) ? value : [value];
    const base: KeyPath = Array.isArray(value) ? ['imports'] : [];
    const out: LsstPipeline[] = [];
    entries.forEach((entry, i) => {
      const path: KeyPath = Array.isArray(value) ? [...base, i] : ['imports'];
      const spec = typeof entry === 'string' ? { location: entry } : entry;
      if (!isRecord(spec) || typeof spec.location !== 'string') fail(path, 'an import is a location, or a mapping with `location:`', 'write - $DRP_PIPE_DIR/pipelines/X.yaml or - {location: ..., exclude: [label]}');
      const s = spec as Record<string, unknown>;
      for (const k of Object.keys(s)) if (!IMPORT_KEYS.includes(k)) fail([...path, k], `"${k}" is not an import key`, `the keys are ${IMPORT_KEYS.join(', ')}`);
      const include = labelList(s.include, [...path, 'include'], fail);
      const exclude = labelList(s.exclude, [...path, 'exclude'], fail);
      if (include && exclude) fail(path, 'an import has an include list or an exclude list, not both', 'keep one of them');
      const mode = s.labeledSubsetModifyMode ?? 'DROP';
      if (mode !== 'DROP' && mode !== 'EDIT') fail([...path, 'labeledSubsetModifyMode'], `${JSON.stringify(mode)} is not a valid mode for labeledSubsetModifyMode`, 'write DROP or EDIT');
      const rename = s.rename === undefined ? {} : s.rename;
      if (!isRecord(rename) || Object.values(rename).some((v) => typeof v !== 'string')) fail([...path, 'rename'], 'rename is a mapping of old label: new label', 'write rename: {oldLabel: newLabel}');
      const location = expandLocation(s.location as string, this.opts.env ?? process.env, { ...at(typeof entry === 'string' ? path : [...path, 'location']) });
      const target = resolve(this.opts.cwd, location);
      if (chain.includes(target)) fail(path, `imports ${this.shown(target)}, which imports this file back`, 'remove one of the two imports');
      if (!existsSync(target)) {
        const problem = { ...at(path), message: `imported pipeline ${s.location} not found (${target})`, fix: 'correct the location, or set the variable it starts with to the package folder' };
        if (this.opts.absentImports === 'warn') {
          warnings.push({ ...problem, message: `imported pipeline ${s.location} is not on this machine: its tasks and subsets are not checked`, code: 'absent' });
          return;
        }
        throw configError(problem);
      }
      const p = this.load(target, chain);
      warnings.push(...p.warnings);
      out.push(
        applyImport(p, {
          include,
          exclude,
          rename: rename as Record<string, string>,
          importSteps: s.importSteps !== false,
          importContracts: s.importContracts !== false,
          mode: mode as 'DROP' | 'EDIT',
          instrument: s.instrument,
        }, at(path)),
      );
    });
    return out;
  }
}

type Fail = (path: KeyPath, message: string, fix: string) => never;

/** `$VAR` and `${VAR}` as os.path.expandvars, except that an unset variable is an error. */
export function expandLocation(location: string, env: NodeJS.ProcessEnv, where: Location): string {
  return location.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    const value = env[name];
    if (value === undefined) throw configError({ ...where, message: `${location}: the variable ${name} is not set`, fix: `set ${name} to the folder of the package that holds it (e.g. export ${name}=/path/to/${name.replace(/_DIR$/, '').toLowerCase()}), as the stack's setup does` });
    return value;
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function labelList(v: unknown, path: KeyPath, fail: Fail): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) fail(path, 'a list of task labels or subset names', 'write [label1, label2]');
  return list as string[];
}

function readParameters(v: unknown, fail: Fail): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) fail(['parameters'], 'the parameters section must be a mapping', 'write parameters: {name: value}');
  return { ...(v as Record<string, unknown>) };
}

function readTasks(v: unknown, at: (p: KeyPath) => Location, fail: Fail): Map<string, LsstTask> {
  const tasks = new Map<string, LsstTask>();
  if (v === undefined || v === null) return tasks;
  if (!isRecord(v)) fail(['tasks'], 'tasks is a mapping of label: class', 'write tasks: {isr: lsst.ip.isr.IsrTask}');
  for (const [label, def] of Object.entries(v as Record<string, unknown>)) {
    const path = ['tasks', label];
    if (label === 'parameters') fail(path, 'parameters is a reserved word and cannot be used as a task label', 'choose another label');
    const d = typeof def === 'string' ? { class: def } : def;
    if (!isRecord(d) || typeof d.class !== 'string' || !d.class) fail(path, 'a task is a class name, or a mapping with `class:` and optional `config:`', `write ${label}: {class: pkg.module.TaskClass}`);
    const task = d as Record<string, unknown>;
    for (const k of Object.keys(task)) if (k !== 'class' && k !== 'config') fail([...path, k], `"${k}" is not a task key`, 'a task has class and config');
    const blocks = task.config === undefined || task.config === null ? [] : Array.isArray(task.config) ? task.config : [task.config];
    const config = blocks.map((b, i): LsstConfigBlock => {
      const bp = Array.isArray(task.config) ? [...path, 'config', i] : [...path, 'config'];
      if (!isRecord(b)) fail(bp, 'a config block is a mapping of field: value', 'write config: {doBias: false}');
      const { file, python, dataId, ...rest } = b as Record<string, unknown>;
      const files = file === undefined || file === null ? [] : Array.isArray(file) ? file : [file];
      if (files.some((f) => typeof f !== 'string')) fail([...bp, 'file'], 'file is a path or a list of paths', 'write file: $PKG_DIR/config/x.py');
      if (python !== undefined && python !== null && typeof python !== 'string') fail([...bp, 'python'], 'python is a block of text', 'write python: |');
      return { rest, file: files as string[], python: (python as string | undefined) ?? undefined, dataId: dataId ?? undefined };
    });
    tasks.set(label, { label, class: task.class as string, config, where: at(path) });
  }
  return tasks;
}

function readSubsets(v: unknown, at: (p: KeyPath) => Location, fail: Fail): Map<string, LsstSubset> {
  const subsets = new Map<string, LsstSubset>();
  if (v === undefined || v === null) return subsets;
  if (!isRecord(v)) fail(['subsets'], 'subsets is a mapping of name: [labels]', 'write subsets: {step1: [isr, calibrateImage]}');
  for (const [name, def] of Object.entries(v as Record<string, unknown>)) {
    const path = ['subsets', name];
    let labels: unknown = def;
    let description: unknown;
    if (isRecord(def)) {
      if (def.subset === undefined) fail(path, "a subset given as a mapping must contain the key 'subset'", 'write {subset: [labels], description: ...}');
      labels = def.subset;
      description = def.description;
    }
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) fail(path, 'a subset is a list of task labels, or {subset: [labels], description}', 'write [isr, calibrateImage]');
    subsets.set(name, { labels: [...new Set(labels as string[])], description: typeof description === 'string' ? description : undefined, where: at(path) });
  }
  return subsets;
}

function readSteps(v: unknown, fail: Fail): LsstStep[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(['steps'], 'steps is a list of {label, dimensions}', 'write steps: [{label: step1, dimensions: [instrument, visit]}]');
  const steps: LsstStep[] = [];
  (v as unknown[]).forEach((s, i) => {
    if (!isRecord(s) || typeof s.label !== 'string' || !Array.isArray(s.dimensions)) fail(['steps', i], 'a step is {label, dimensions}', 'write {label: step1, dimensions: [instrument, visit]}');
    const step = s as { label: string; dimensions: unknown[] };
    if (steps.some((x) => x.label === step.label)) fail(['steps', i], `step ${step.label} was declared twice`, 'delete one of the two');
    steps.push({ label: step.label, dimensions: step.dimensions.map(String) });
  });
  return steps;
}

function readContracts(v: unknown, fail: Fail): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) fail(['contracts'], 'contracts is a list of expressions', 'write contracts: ["a.x == b.y"]');
  return (list as unknown[]).map((c, i) => {
    if (typeof c === 'string') return c;
    if (isRecord(c) && typeof c.contract === 'string') return c.contract;
    return fail(['contracts', i], 'a contract is an expression, or {contract, msg}', 'write - "a.x == b.y"');
  });
}

interface ImportSpec {
  include?: string[];
  exclude?: string[];
  rename: Record<string, string>;
  importSteps: boolean;
  importContracts: boolean;
  mode: 'DROP' | 'EDIT';
  instrument: unknown;
}

/** pipe_base's ImportIR.toPipelineIR on a loaded pipeline. */
function applyImport(p: LsstPipeline, spec: ImportSpec, where: Location): LsstPipeline {
  const err = (message: string, fix: string): never => {
    throw configError({ ...where, message, fix });
  };
  const renames = Object.entries(spec.rename);
  if (new Set(Object.values(spec.rename)).size !== renames.length) err('rename must not give two labels the same new name', 'give each a distinct name');
  if (renames.some(([, to]) => to in spec.rename)) err('rename keys must not be renamed-to values', 'rename in one step');
  const included = new Set<string>();
  const include = spec.include ? [...spec.include] : undefined;
  for (const label of p.tasks.keys()) {
    const isIncluded = !!include?.includes(label);
    if (isIncluded || (spec.exclude && !spec.exclude.includes(label)) || (!include && !spec.exclude)) {
      const to = spec.rename[label] ?? label;
      if (isIncluded && to !== label) include!.splice(include!.indexOf(label), 1, to);
      included.add(to);
    }
  }
  const tasks = new Map<string, LsstTask>();
  for (const [label, task] of p.tasks) {
    const to = spec.rename[label];
    if (to !== undefined && included.has(to)) {
      if (p.tasks.has(to)) err(`can't rename ${label} to the existing label ${to}`, 'choose a new label');
      tasks.set(to, { ...task, label: to });
    } else tasks.set(label, task);
  }
  const renamed: LsstPipeline = { ...p, tasks, steps: spec.importSteps ? p.steps : [], contracts: spec.importContracts ? p.contracts : [] };
  if (include) for (const name of include) for (const l of p.subsets.get(name)?.labels ?? []) included.add(l);
  else if (spec.exclude) for (const name of spec.exclude) for (const l of p.subsets.get(name)?.labels ?? []) included.delete(l);
  const out = subsetFromLabels(renamed, included, spec.mode, where);
  if (spec.instrument !== undefined) out.instrument = spec.instrument === null || spec.instrument === 'None' ? undefined : String(spec.instrument);
  return out;
}

/** pipe_base's subset_from_labels: keep `labels` (subset names expanded), drop or edit broken subsets. */
function subsetFromLabels(p: LsstPipeline, wanted: Set<string>, mode: 'DROP' | 'EDIT', where: Location): LsstPipeline {
  const labels = new Set<string>();
  for (const l of wanted) {
    const subset = p.subsets.get(l);
    if (subset) subset.labels.forEach((x) => labels.add(x));
    else labels.add(l);
  }
  const unknown = [...labels].filter((l) => !p.tasks.has(l));
  if (unknown.length && p.warnings.some((w) => w.code === 'absent')) {
    p.warnings.push({ ...where, message: `${unknown.join(', ')} not defined here, perhaps in the imports not on this machine: left out`, code: 'absent' });
    unknown.forEach((l) => labels.delete(l));
  } else if (unknown.length) {
    const near = closestName(unknown[0], [...p.tasks.keys(), ...p.subsets.keys()]);
    throw configError({ ...where, message: `not in the pipeline ${p.file}: ${unknown.join(', ')}`, fix: near ? `did you mean ${near}?` : `the labels and subsets are listed by: npx campaign pipeline ${p.file}` });
  }
  const tasks = new Map([...p.tasks].filter(([l]) => labels.has(l)));
  const subsets = new Map<string, LsstSubset>();
  for (const [name, s] of p.subsets) {
    const kept = s.labels.filter((l) => tasks.has(l));
    if (kept.length < s.labels.length) {
      if (mode === 'EDIT') subsets.set(name, { ...s, labels: kept });
    } else if (!(mode === 'DROP' && s.labels.length === 0)) subsets.set(name, s);
  }
  const removed = [...p.tasks.keys()].filter((l) => !tasks.has(l));
  const contracts = p.contracts.filter((c) => !removed.some((l) => new RegExp(`(^|[^A-Za-z0-9_])${escapeRe(l)}[.]`).test(c)));
  return { ...p, tasks, subsets, steps: p.steps.filter((s) => subsets.has(s.label)), contracts };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** pipe_base's merge_pipelines: the imports, then this file on top. */
function mergeImports(own: LsstPipeline, imported: LsstPipeline[], fail: Fail): LsstPipeline {
  if (!imported.length) return own;
  let instrument = own.instrument;
  const tasks = new Map<string, LsstTask>();
  const subsets = new Map<string, LsstSubset>();
  const parameters: Record<string, unknown> = {};
  const steps = new Map<string, LsstStep>();
  const contracts = [...own.contracts];
  const sameStep = (a: LsstStep, b: LsstStep) => a.dimensions.join() === b.dimensions.join();
  for (const p of imported) {
    if (instrument === undefined) instrument = p.instrument;
    else if (p.instrument !== undefined && p.instrument !== instrument) fail(['imports'], `${p.file} declares the instrument ${p.instrument}, this pipeline ${instrument}`, 'import it with `instrument: None`, or use one instrument');
    const twice = [...p.tasks.keys()].filter((l) => tasks.has(l));
    if (twice.length) fail(['imports'], `task labels appear in more than one import: ${twice.join(', ')} (again in ${p.file})`, 'exclude them from one import, or rename them there');
    for (const [l, t] of p.tasks) tasks.set(l, t);
    contracts.push(...p.contracts);
    const clash = [...p.subsets.keys()].filter((n) => subsets.has(n) || tasks.has(n));
    if (clash.length) fail(['imports'], `subset names must be unique among the imports and their labels: ${clash.join(', ')} (again in ${p.file})`, 'exclude or rename one of them');
    for (const [n, s] of p.subsets) subsets.set(n, s);
    Object.assign(parameters, p.parameters);
    for (const s of p.steps) {
      const existing = steps.get(s.label);
      if (existing && !sameStep(existing, s)) fail(['imports'], `conflicting definitions of step ${s.label} in the imports`, 'give the step the same dimensions everywhere');
      if (!existing) steps.set(s.label, s);
    }
  }
  for (const s of own.steps) {
    const existing = steps.get(s.label);
    if (existing && !sameStep(existing, s)) fail(['steps'], `step ${s.label} conflicts with an imported definition`, 'give the step the same dimensions as the import does');
    if (!existing) steps.set(s.label, s);
  }
  const clash = [...subsets.keys()].filter((n) => own.tasks.has(n));
  if (clash.length) fail(['tasks', clash[0]], `${clash[0]} is a subset in an import and a task here`, 'rename the task');
  for (const [n, s] of own.subsets) subsets.set(n, s);
  for (const [label, task] of own.tasks) {
    const base = tasks.get(label);
    if (base && base.class === task.class) tasks.set(label, { ...base, config: appendConfig(base.config, task.config), where: task.where });
    else tasks.set(label, task);
  }
  Object.assign(parameters, own.parameters);
  return { ...own, instrument, tasks, subsets, parameters, steps: [...steps.values()], contracts, files: [...own.files, ...imported.flatMap((p) => p.files)] };
}

/** pipe_base's add_or_update_config: merge into the last block when neither has code, files or a clash. */
function appendConfig(base: LsstConfigBlock[], more: LsstConfigBlock[]): LsstConfigBlock[] {
  const out = base.map((b) => ({ ...b, rest: { ...b.rest }, file: [...b.file] }));
  for (const c of more) {
    const last = out[out.length - 1];
    const mergeable =
      last && JSON.stringify(last.dataId) === JSON.stringify(c.dataId) && !last.python && !c.python && !last.file.length && !c.file.length &&
      Object.keys(c.rest).every((k) => !(k in last.rest) || JSON.stringify(last.rest[k]) === JSON.stringify(c.rest[k]));
    if (mergeable) Object.assign(last.rest, c.rest);
    else out.push({ ...c, rest: { ...c.rest }, file: [...c.file] });
  }
  return out;
}

/** Subsets name tasks of the pipeline, not tasks themselves; steps name subsets. */
function verify(p: LsstPipeline, fail: Fail, absent: boolean): void {
  for (const [name, s] of p.subsets) {
    const missing = s.labels.filter((l) => !p.tasks.has(l));
    if (!missing.length) continue;
    if (absent) {
      p.warnings.push({ ...s.where, message: `subset ${name} names ${missing.length} label(s) not defined here (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}), perhaps in the imports not on this machine`, code: 'absent' });
      continue;
    }
    const near = closestName(missing[0], p.tasks.keys());
    throw configError({ ...s.where, message: `labels ${missing.join(', ')} of subset ${name} were not found in the declared pipeline`, fix: near ? `did you mean ${near}?` : 'define the tasks, or remove them from the subset' });
  }
  for (const name of p.subsets.keys()) if (p.tasks.has(name)) fail(['subsets', name], `subset ${name} has the label of a task`, 'rename the subset');
  for (const s of p.steps) if (!p.subsets.has(s.label)) fail(['steps'], `${s.label} was declared to be a step, but is not a labeled subset`, `add a subset ${s.label}`);
}

/** `parameters.X` config values take the pipeline's parameter X (pipe_base's ConfigIR.formatted). */
function substituteParameters(p: LsstPipeline): void {
  for (const task of p.tasks.values()) {
    for (const block of task.config) {
      for (const [key, value] of Object.entries(block.rest)) {
        const m = typeof value === 'string' ? /^parameters[.](.*)$/.exec(value) : null;
        if (!m) continue;
        if (m[1] in p.parameters) block.rest[key] = p.parameters[m[1]];
        else p.warnings.push({ ...task.where, key: `${task.label}.config.${key}`, message: `${value} looks like a pipeline parameter, but the pipeline has no parameter ${m[1]}`, fix: 'add it under parameters:, or correct the name' });
      }
    }
  }
}

/**
 * The tasks an expression names: `label`, `subset`, a comma list of them, or one range `a..b`,
 * `a..`, `..b`. pipe_base orders a range by the tasks' connections (Python); here, without the
 * stack, by the pipeline's task order.
 */
export function selectTasks(p: LsstPipeline, expression: string, where: Location): LsstPipeline {
  const err = (message: string, fix: string): never => {
    throw configError({ ...where, message: `#${expression}: ${message}`, fix });
  };
  if (expression.includes('..')) {
    if (expression.includes(',')) err('a list of labels or a range, not both', 'write #a,b or #a..b');
    const [begin, end, ...rest] = expression.split('..');
    if (rest.length) err('only one range can be given', 'write #a..b');
    const order = [...p.tasks.keys()];
    const bound = (l: string, which: string) => {
      if (!l) return undefined;
      const i = order.indexOf(l);
      if (i < 0) {
        const near = closestName(l, order);
        err(`the ${which} of the range, ${l}, is not a task of the pipeline`, near ? `did you mean ${near}?` : 'name a task label');
      }
      return i;
    };
    const from = bound(begin, 'beginning') ?? 0;
    const to = bound(end, 'end') ?? order.length - 1;
    if (from > to) err(`${begin} comes after ${end} in the pipeline`, 'swap the two ends');
    return subsetFromLabels(p, new Set(order.slice(from, to + 1)), 'DROP', where);
  }
  const names = expression.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!n) err('an empty label', 'remove the extra comma');
    if (!p.tasks.has(n) && !p.subsets.has(n)) {
      const near = closestName(n, [...p.tasks.keys(), ...p.subsets.keys()]);
      err(`${n} is not a task label or subset of ${p.file}`, near ? `did you mean ${near}?` : `the labels and subsets are listed by: npx campaign pipeline ${p.file}`);
    }
  }
  return subsetFromLabels(p, new Set(names), 'DROP', where);
}

/** A task's config with all blocks' fields merged in order (what `-c` overrides apply on). */
export function flatConfig(task: LsstTask): Record<string, unknown> {
  return Object.assign({}, ...task.config.map((b) => b.rest));
}

/** The pipeline as data, for `campaign pipeline --json` and the stand-in pipetask. */
export function pipelineJson(p: LsstPipeline, absFile: string): unknown {
  return {
    file: absFile,
    description: p.description,
    instrument: p.instrument ?? null,
    parameters: p.parameters,
    tasks: [...p.tasks.values()].map((t) => ({ label: t.label, class: t.class, config: flatConfig(t), configFiles: t.config.flatMap((b) => b.file), python: t.config.flatMap((b) => (b.python ? [b.python] : [])) })),
    subsets: Object.fromEntries([...p.subsets].map(([n, s]) => [n, s.labels])),
    steps: p.steps,
    contracts: p.contracts,
  };
}
