#!/usr/bin/env node
// Load real users' files as nx-campaign loads them and print one row per file: kind, result,
// stages, first problem. Dev-only (a user's clone has no ../shared); every behaviour it exercises
// has its own test on fixtures of our own.
//
//   npm run build && node tools/check-real-files.mjs [DIR] [--python-path DIR]...
//
// DIR (default ../shared/examples/real) holds one folder per repository (socm/, ceci/, TXPipe/,
// ...), each laid out as that repository: a file is loaded with its repository's folder as the
// launch folder (ceci's paths, like ./tests/config.yml, are relative to it). Python stage modules
// are looked for as ceci looks for them, then in this project's own ceci-style modules
// (pipelines/wlgc/python: ceci's example classes) and in each --python-path. A ceci pipeline
// whose modules are on none of them is checked without its classes: a warning says which.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dist = (m) => require(join(root, 'packages/nx-campaign/dist', m));
const { loadRun } = dist('config/run.js');
const { ConfigError, formatProblem } = dist('format/errors.js');
const { ceciPipelineSchema, loadStagesConfig } = dist('config/ceci.js');
const { readYamlFile } = dist('format/yaml-file.js');
const { validate } = dist('format/validate.js');
const { stageInvocation } = dist('model/command.js');
const { loadLsstPipeline } = dist('config/lsst-pipeline.js');
const { isCmServiceCampaign, readCmServiceCampaigns } = dist('config/cm-service.js');
const { BPS_KEYS, readBpsConfig } = dist('config/bps-config.js');

const args = process.argv.slice(2);
const pythonPaths = [join(root, 'pipelines/wlgc/python')];
let dir = resolve(root, '../shared/examples/real');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--python-path') pythonPaths.push(resolve(args[++i]));
  else if (args[i].startsWith('--python-path=')) pythonPaths.push(resolve(args[i].slice('--python-path='.length)));
  else dir = resolve(args[i]);
}
process.env.PYTHONPATH = [...pythonPaths, ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(':');

const files = (d) => readdirSync(d).flatMap((e) => (statSync(join(d, e)).isDirectory() ? files(join(d, e)) : [join(d, e)]));
const toPosix = (p) => p.split(sep).join('/');
/** The repository folder a file belongs to (the launch folder) and its path inside it. */
const place = (file) => {
  const [repo, ...rest] = toPosix(relative(dir, file)).split('/');
  return { wsRoot: join(dir, repo), rel: rest.join('/') };
};

const rubinKind = (data) => {
  if (isCmServiceCampaign(data)) return 'cm-service campaign';
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined;
  if ('tasks' in data || ('description' in data && ('imports' in data || 'subsets' in data))) return 'LSST pipeline';
  if (BPS_KEYS.some((k) => k in data)) return 'BPS config';
  return undefined;
};
/** The repositories here stand for the packages of the same name: $DRP_PIPE_DIR is drp_pipe/, ... */
const packageEnv = () => {
  const env = { ...process.env };
  for (const repo of readdirSync(dir)) env[`${repo.toUpperCase()}_DIR`] = join(dir, repo);
  return env;
};

const oneLine = (p) => formatProblem(p).split('\n')[0];
const rows = [];
const ceciPipelines = [];
const pending = [];

for (const file of files(dir).sort()) {
  const shown = toPosix(relative(dir, file));
  const { wsRoot, rel } = place(file);
  if (/\.(md|txt)$/.test(file) && !/dry-run\.txt$/.test(file)) continue;
  if (/dry-run\.txt$/.test(file)) {
    pending.push({ shown, file, wsRoot });
    continue;
  }
  if (file.endsWith('.toml')) {
    rows.push({ shown, kind: 'socm TOML campaign', ...load(wsRoot, rel) });
    continue;
  }
  if (!/\.ya?ml$/.test(file)) continue;
  let data;
  try {
    data = readYamlFile(file, rel).data; // repeated keys (as socm's example has) are fine here
  } catch {
    data = undefined; // not YAML: loadRun reports it, located
  }
  const rubin = rubinKind(data);
  if (rubin) {
    rows.push({ shown, kind: rubin, ...loadRubin(rubin, file, wsRoot, rel) });
  } else if (data && typeof data === 'object' && !Array.isArray(data) && 'stages' in data) {
    const ceci = Array.isArray(data.stages);
    const row = { shown, kind: ceci ? 'ceci pipeline' : 'socm DAG', ...load(wsRoot, rel, ceci) };
    rows.push(row);
    if (ceci) ceciPipelines.push({ row, wsRoot, rel, data });
  } else {
    pending.push({ shown, file, wsRoot, rel, config: true });
  }
}

// A stages config is loaded with the pipelines that name it; a ceci dry-run is compared with them.
for (const p of pending) {
  if (p.config) {
    const users = ceciPipelines.filter((c) => c.wsRoot === p.wsRoot && typeof c.data.config === 'string' && posix.normalize(c.data.config) === p.rel);
    if (users.length) {
      const worst = users.find((u) => u.row.result.startsWith('error')) ?? users[0];
      rows.push({ shown: p.shown, kind: 'ceci stages config', result: `${worst.row.result.split(' (')[0]} (with ${users.map((u) => u.rel).join(', ')})`, stages: '', problem: worst.row.problem });
    } else {
      rows.push({ shown: p.shown, kind: 'unknown', result: 'skipped: not a kind nx-campaign reads', stages: '', problem: '' });
    }
    continue;
  }
  rows.push({ shown: p.shown, kind: 'ceci dry-run output', ...compareDryRun(p) });
}

/** A file as `campaign plan` and the plugin load it. */
function load(wsRoot, rel, ceci = false) {
  try {
    const run = loadRun(wsRoot, rel);
    const w = run.warnings;
    return { result: w.length ? `warnings (${w.length})` : 'loads', stages: String(run.stages.length), problem: w.length ? oneLine(w[0]) : '', run };
  } catch (e) {
    if (!(e instanceof ConfigError)) return { result: 'error (a bug)', stages: '', problem: String(e.stack ?? e).split('\n')[0] };
    if (ceci && e.problems.every((p) => p.code === 'absent')) return withoutClasses(wsRoot, rel);
    return { result: 'error', stages: '', problem: oneLine(e.problems[0]) };
  }
}

/**
 * An LSST pipeline with its imports, a BPS config with its includes, a cm-service campaign's
 * steps. An import or include of a file these copies do not hold is a warning: the package has it.
 */
function loadRubin(kind, file, wsRoot, rel) {
  try {
    if (kind === 'LSST pipeline') {
      const p = loadLsstPipeline(rel, { cwd: wsRoot, env: packageEnv(), absentImports: 'warn' });
      return rubinRow(p.warnings, `${p.tasks.size} tasks`);
    }
    const y = readYamlFile(file, rel);
    if (kind === 'BPS config') {
      const c = readBpsConfig(y, { cwd: wsRoot, env: packageEnv() });
      return rubinRow(c.warnings, c.labels.length ? `${c.labels.length} labels` : '');
    }
    const campaigns = readCmServiceCampaigns(y);
    return rubinRow(campaigns[0]?.warnings ?? [], campaigns.map((c) => `${c.steps.length} steps`).join(', '));
  } catch (e) {
    if (!(e instanceof ConfigError)) return { result: 'error (a bug)', stages: '', problem: String(e.stack ?? e).split('\n')[0] };
    return { result: 'error', stages: '', problem: oneLine(e.problems[0]) };
  }
}

function rubinRow(warnings, stages) {
  return { result: warnings.length ? `warnings (${warnings.length})` : 'loads', stages, problem: warnings.length ? oneLine(warnings[0]) : '' };
}

/** A ceci pipeline whose stage modules or stages config are not here: what can be checked without them. */
function withoutClasses(wsRoot, rel) {
  try {
    const y = readYamlFile(join(wsRoot, rel), rel);
    const p = validate(ceciPipelineSchema, y, y.data, [], () => '');
    const absent = [];
    try {
      if (p.config) loadStagesConfig(wsRoot, y, posix.dirname(rel), p.config);
    } catch (e) {
      if (!(e instanceof ConfigError) || e.problems[0].code !== 'absent') throw e;
      absent.push(`its stages config ${p.config}`);
    }
    try {
      loadRun(wsRoot, rel);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const m of e.problems) if (/module "([^"]+)"/.test(m.message)) absent.push(`module ${/module "([^"]+)"/.exec(m.message)[1]}`);
    }
    return { result: 'warnings (classes not checked)', stages: String(p.stages.length), problem: `${[...new Set(absent)].join(' and ')} not on this machine: stage classes, commands and options not checked (--python-path DIR gives sources)` };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { result: 'error', stages: '', problem: oneLine(e.problems[0]) };
  }
}

/** ceci's own `--dry-run` output against the commands nx-campaign builds for the pipeline it ran. */
function compareDryRun({ file, wsRoot }) {
  const theirs = readFileSync(file, 'utf8').split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter((l) => l.startsWith('OMP_NUM_THREADS='));
  const config = /--config=(\S+)/.exec(theirs[0] ?? '')?.[1];
  const pipeline = ceciPipelines.find((c) => c.wsRoot === wsRoot && c.data.config === config && c.row.run);
  if (!pipeline) return { result: 'error', stages: '', problem: `no loaded ceci pipeline of ${relative(dir, wsRoot)} has --config=${config}` };
  const run = pipeline.row.run;
  const ours = run.stages.map((s) => {
    const inv = stageInvocation(wsRoot, run, s);
    return `OMP_NUM_THREADS=${inv.env.OMP_NUM_THREADS} ${inv.argv.join(' ')}`;
  });
  const differ = theirs.findIndex((l, i) => l !== ours[i]);
  if (differ === -1 && ours.length === theirs.length) return { result: `loads: the commands of ${pipeline.rel} equal ceci's`, stages: String(ours.length), problem: '' };
  return { result: `error: the commands of ${pipeline.rel} differ from ceci's`, stages: String(ours.length), problem: `ceci: ${theirs[differ] ?? '(none)'} | ours: ${ours[differ] ?? '(none)'}` };
}

// One line per file, so that the whole table reads at a glance (and fits a terminal's tail).
const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}\u2026` : text);
const cols = [['file', 44], ['kind', 19], ['result', 34], ['stages', 9], ['first problem', 0]];
const line = (cells) => cells.map((c, i) => (cols[i][1] ? clip(c, cols[i][1]).padEnd(cols[i][1]) : clip(c, 130))).join('  ').trimEnd();
console.log(`real files in ${relative(process.cwd(), dir) || '.'}; Python stage modules also from ${pythonPaths.map((p) => relative(process.cwd(), p)).join(', ')}`);
console.log(line(cols.map(([h]) => h)));
for (const r of rows) console.log(line([r.shown, r.kind, r.result, r.stages, r.problem]));
const failed = rows.filter((r) => r.result.startsWith('error'));
console.log(`${rows.length} files: ${rows.filter((r) => r.result.startsWith('loads')).length} load, ${rows.filter((r) => r.result.startsWith('warnings')).length} load with warnings, ${failed.length} errors`);
process.exit(failed.length ? 1 : 0);
