#!/usr/bin/env node
// Local benchmark of nx-campaign against plain Nx, in throw-away workspaces under os.tmpdir().
//
//   node tools/bench-local.mjs [--repeat N] [--quick] [--only 1,2,3,4] [--profile] [--keep]
//
//   1. cold `nx run-many` of a fan-out DAG (1 prep -> N split -> N map -> 1 final; 202 stages by
//      default): the plugin vs the same DAG as plain `nx:run-commands` projects (project.json).
//      Also ours' cost per stage outside the stage's own process (from the record's run times).
//   2. the fully cached re-run of the same, both sides; checks ours was 100% cached.
//   3. project-graph creation, `nx show projects`, 1000-stage run vs 1000 package.json projects
//      (warm: .nx kept, the usual case; cold: .nx removed), plus the plugin's own share:
//      `runProjects()` in-process, median of several calls.
//   4. Nx cache growth for a run writing 1 GiB of outputs (4 x 256 MiB), target < 10 MB.
//   5. Snakemake (if on the PATH) on the same DAG as 1, -j2, cold and with nothing to do, against
//      ours with the daemon from 1+2 (so run with them: --only 1,2,5).
// Timed measurements are repeated (default 3, alternating which side goes first) and
// reported as medians, samples and ratios of medians, each against its target (OK / OVER).
// Figures, not asserts: the exit code is 0 unless a measurement could not be taken.
//   --quick    1 repeat, smaller sizes (42 stages, 200 projects, 4 x 16 MiB): a smoke run
//   --profile  afterwards, CPU-profile every Node process of one run of each kind and print
//              where the time goes (hashing, plugin loading, createNodes, batch executor...)
//   --keep     leave the workspaces (and profiles) in os.tmpdir()
// Needs the plugin built (`npm run build`). Every nx call: NX_DAEMON=false NX_NO_CLOUD=true
// NX_TUI=false, --outputStyle=static, --parallel=2 for run-many.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { keyFigures, summarizeProfile } from './bench/cpuprofile-summary.mjs';
import { cacheStats, countFiles, duBytes, fmtBytes, fmtMs, fmtRatio, fmtS, median, perfLines, runNx, runNxOk, samples, settle } from './bench/measure.mjs';
import { bigOutputDag, campaignWorkspace, fanOutDag, packageJsonWorkspace, removeWorkspace, runCommandsWorkspace, wideDag } from './bench/workspaces.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const Database = createRequire(import.meta.url)('better-sqlite3');
const repoRoot = resolve(here, '..');

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = { repeat: undefined, quick: false, keep: false, profile: false, only: new Set([1, 2, 3, 4, 5]) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--profile') o.profile = true;
    else if (a.startsWith('--repeat')) {
      o.repeat = Number(value());
      if (!Number.isInteger(o.repeat) || o.repeat < 1) usage('--repeat takes a whole number >= 1');
    } else if (a.startsWith('--only')) {
      o.only = new Set(value().split(',').map(Number));
      if ([...o.only].some((n) => ![1, 2, 3, 4, 5].includes(n))) usage('--only takes measurement numbers 1-5, e.g. --only 1,2');
    } else if (a === '-h' || a === '--help') usage();
    else usage(`unknown option ${a}`);
  }
  o.repeat ??= o.quick ? 1 : 3;
  return o;
}

function usage(problem) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const text = lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n');
  if (problem) console.error(`bench-local: ${problem}\n`);
  (problem ? console.error : console.log)(text);
  process.exit(problem ? 2 : 0);
}

const opts = parseArgs(process.argv.slice(2));
const size = opts.quick
  ? { fan: 20, graph: 200, bigCount: 4, bigBytes: 16 * 1024 * 1024, pluginCalls: 5 }
  : { fan: 100, graph: 1000, bigCount: 4, bigBytes: 256 * 1024 * 1024, pluginCalls: 9 };
const TARGET = { cold: 0.8, cached: 1.0, snakemakeCold: 0.6, snakemakeNothing: 1.0, graph: 1.3, pluginSeconds: 0.3, cacheGrowthBytes: 10e6 };
const PARALLEL = 2;
const RUN_MANY = ['--outputStyle=static', `--parallel=${PARALLEL}`];

/**
 * What one stage costs beyond its own process in the cold run just made: the task phase on
 * PARALLEL slots, less the stages' run times the record holds for that invocation, per stage.
 * The fan-out DAG keeps both slots busy; a rough figure, for comparing versions.
 */
function engineMsPerStage(ws, phases, n) {
  if (!phases) return undefined;
  const db = new Database(join(ws, '.campaign', 'record.sqlite'), { readonly: true });
  try {
    const { seconds, count } = db.prepare('SELECT SUM(seconds) AS seconds, COUNT(*) AS count FROM attempts WHERE invocation_id = (SELECT MAX(id) FROM invocations)').get();
    if (count !== n) return undefined;
    return ((PARALLEL * phases.tasks - seconds) / n) * 1000;
  } finally {
    db.close();
  }
}

const log = (s = '') => console.log(s);
const verdict = (ok) => (ok ? 'OK' : 'OVER');
const summary = []; // rows for the final table

function row(what, ours, base, ratio, target, ok) {
  summary.push({ what, ours, base, ratio, target, verdict: ok === undefined ? '' : typeof ok === 'string' ? ok : verdict(ok) });
}

// ------------------------------------------------------------------ set-up

const distNodes = join(repoRoot, 'packages', 'nx-campaign', 'dist', 'plugins', 'nodes.js');
if (!existsSync(distNodes)) {
  console.error(`bench-local: ${distNodes} is missing: run \`npm run build\` first`);
  process.exit(2);
}
const workspaces = [];
const track = (w) => (workspaces.push(w.ws), w);
let profileDir;
function cleanup() {
  if (opts.keep) {
    if (workspaces.length) log(`\nkept workspaces (--keep):\n  ${workspaces.join('\n  ')}`);
    return;
  }
  for (const ws of workspaces.splice(0)) removeWorkspace(ws);
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`\nbench-local: ${sig}, removing workspaces`);
    cleanup();
    process.exit(130);
  });
}

const started = Date.now();
const nxVersion = JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'nx', 'package.json'), 'utf8')).version;
const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || '?';
log(`nx-campaign local benchmark  ${new Date().toISOString()}`);
log(`  repo ${repoRoot} @ ${head} (dist built ${statSync(distNodes).mtime.toISOString()}), Nx ${nxVersion}, Node ${process.version}`);
log(`  machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
log(`  mode: ${opts.quick ? 'quick' : 'full'}, ${opts.repeat} repeat(s), measurements ${[...opts.only].join(',')}, workspaces in ${tmpdir()}`);
log(`  every nx call: NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false, --outputStyle=static; run-many also --parallel=2`);
log(`  (each timed sample waits briefly for idle cores; "busy N%" = share of both cores other processes used just before it: read samples with high figures with care)`);

// Other processes on the 2 cores skew samples: before each timed sample wait a little (within
// a total budget) for the cores to be mostly idle, and print how busy they were ("busy N%").
const budget = { leftSec: opts.quick ? 20 : 120 };
const timed = async (ws, args, o) => {
  const busy = await settle(budget);
  const r = await runNxOk(ws, args, o);
  return { ...r, busy };
};
const pct = (b) => (b === null || b === undefined ? '?' : `${Math.round(100 * b)}%`);
let failed = false;
async function section(title, fn) {
  log(`\n=== ${title}`);
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    failed = true;
    log(`  ERROR: ${e.stack ?? e}`);
    row(title.replace(/\s*\(.*$/, ''), '-', '-', '-', '-', 'ERROR');
  }
  log(`  (section took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

// ------------------------------------------------------------------ 1 + 2: cold and cached run-many

// Two ways users run Nx: with its daemon (the default on a workstation: plugin workers and the
// project graph stay warm between commands) and without (CI). Without it, every command starts
// one plugin worker per plugin (Nx's isolation); ours adds a fourth to the three built-in ones.
// In daemon mode "cold" means outputs deleted and --skip-nx-cache, with the daemon kept warm.
let fanOurs;
/** Ours with the daemon, medians of section 1+2: what section 5 compares with Snakemake. */
const oursDaemon = {};
for (const daemon of [false, true]) {
if (opts.only.has(1) || opts.only.has(2)) {
  const mode = daemon ? 'Nx daemon on (Nx default)' : 'no daemon (CI)';
  const env = daemon ? { NX_DAEMON: 'true' } : {};
  await section(`1+2. run-many of a fan-out DAG (1 prep -> ${size.fan} split -> ${size.fan} map -> 1 final), cold then cached, ${mode}`, async () => {
    const dag = fanOutDag(size.fan);
    const n = dag.length;
    const ours = track(campaignWorkspace(repoRoot, 'fan', 'fan', dag));
    fanOurs ??= ours;
    const base = track(runCommandsWorkspace(repoRoot, 'fan-base', dag));
    log(`  ours:     ${fanOurs.ws}  (runs/fan.yaml, ${n} stages; nx run-many -t stage --projects=tag:run:fan)`);
    log(`  baseline: ${base.ws}  (${n} project.json, nx:run-commands, cache: true, outputs declared)`);
    const sides = {
      ours: {
        ws: ours.ws,
        args: ['run-many', '-t', 'stage', '--projects=tag:run:fan', ...RUN_MANY],
        reset: () => (daemon ? ['results'] : ['.nx', 'results']).forEach((d) => rmSync(join(ours.ws, d), { recursive: true, force: true })),
        outputs: () => countFiles(ours.outputDir, (f) => f.endsWith('.txt') && !f.startsWith('inprogress_')),
      },
      baseline: {
        ws: base.ws,
        args: ['run-many', '-t', 'stage', ...RUN_MANY],
        reset: () => {
          if (!daemon) rmSync(join(base.ws, '.nx'), { recursive: true, force: true });
          rmSync(base.outputDir, { recursive: true, force: true });
          mkdirSync(base.outputDir);
        },
        outputs: () => countFiles(base.outputDir, (f) => f.endsWith('.txt')),
      },
    };
    const res = Object.fromEntries(Object.keys(sides).map((k) => [k, { cold: [], cached: [], coldPhases: [], cachedPhases: [], cachedHits: [] }]));
    const ph = (p) => (p ? `start ${p.start.toFixed(2)} + tasks ${p.tasks.toFixed(2)} + exit ${p.exit.toFixed(2)}` : 'phases n/a');
    const once = async (name, run = timed) => {
      const s = sides[name];
      s.reset();
      const cold = await run(s.ws, daemon ? [...s.args, '--skip-nx-cache'] : s.args, { env });
      const cs = cacheStats(cold.out);
      const made = s.outputs();
      if (made !== n) throw new Error(`${name}: cold run wrote ${made} of ${n} outputs`);
      if (cs && cs.hits !== 0) throw new Error(`${name}: cold run was not cold: ${JSON.stringify(cs)}`);
      const cached = await run(s.ws, s.args, { env });
      return { cold, cached, cc: cacheStats(cached.out) };
    };
    // Untimed warm-up of both sides: the OS file cache holds Nx, the plugin and node_modules afterwards.
    for (const name of Object.keys(sides)) {
      const w = await once(name, runNxOk);
      log(`  warm-up ${name.padEnd(8)} cold ${fmtS(w.cold.seconds)}, cached ${fmtS(w.cached.seconds)} (not counted)`);
    }
    for (let i = 0; i < opts.repeat; i++) {
      const order = i % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
      for (const name of order) {
        const { cold, cached, cc } = await once(name);
        const r = res[name];
        r.cold.push(cold.seconds);
        r.cached.push(cached.seconds);
        r.coldPhases.push(cold.phases);
        r.cachedPhases.push(cached.phases);
        r.cachedHits.push(cc);
        if (name === 'ours') r.engineMs = [...(r.engineMs ?? []), engineMsPerStage(ours.ws, cold.phases, n)];
        log(
          `  [${i + 1}/${opts.repeat}] ${name.padEnd(8)} cold ${fmtS(cold.seconds)} (${ph(cold.phases)}; busy ${pct(cold.busy)})` +
            `   cached ${fmtS(cached.seconds)} (${ph(cached.phases)}; cache ${cc ? `${cc.hits}/${cc.total}` : '?'} hit; busy ${pct(cached.busy)})`,
        );
      }
    }
    const m = (name, k) => median(res[name][k]);
    for (const k of ['cold', 'cached']) {
      log(`  ${k}:`);
      for (const name of ['ours', 'baseline']) {
        const ps = res[name][`${k}Phases`].filter(Boolean);
        const pm = (f) => median(ps.map((p) => p[f]));
        log(`    ${name.padEnd(8)} median ${fmtS(m(name, k))}  samples ${samples(res[name][k])}   median phases: before tasks (start-up, project graph, hashing) ${fmtS(pm('start'))}, tasks (cache look-up, run, cache write) ${fmtS(pm('tasks'))}, exit ${fmtS(pm('exit'))}`);
      }
      const ratio = m('ours', k) / m('baseline', k);
      const target = TARGET[k];
      log(`    ratio ours/baseline ${fmtRatio(ratio)}  target <= ${target.toFixed(1)}  ${verdict(ratio <= target)}`);
      if (k === 'cold' && opts.only.has(1)) row(`1. cold run-many, ${n} stages, ${daemon ? 'daemon' : 'no daemon'}`, fmtS(m('ours', k)), fmtS(m('baseline', k)), fmtRatio(ratio), `<= ${target.toFixed(1)}`, ratio <= target);
      if (k === 'cached' && opts.only.has(2)) row(`2. cached re-run, ${n} stages, ${daemon ? 'daemon' : 'no daemon'}`, fmtS(m('ours', k)), fmtS(m('baseline', k)), fmtRatio(ratio), `<= ${target.toFixed(1)}`, ratio <= target);
    }
    if (daemon) Object.assign(oursDaemon, { cold: m('ours', 'cold'), cached: m('ours', 'cached') });
    const engine = res.ours.engineMs.filter((x) => x !== undefined);
    if (engine.length) {
      log(`  ours: cost per stage outside the stage's own process, cold: median ${median(engine).toFixed(1)} ms  samples [${engine.map((x) => x.toFixed(1)).join(', ')}]`);
      log(`    (= (${PARALLEL} slots x task phase - the stages' own run times from the record) / stages: spawning, logs, outputs, receipts, record, results to Nx, and Nx's own per-task work)`);
      if (opts.only.has(1)) row(`1. ours per-stage cost, ${daemon ? 'daemon' : 'no daemon'}`, `${median(engine).toFixed(1)} ms`, '', '', '');
    }
    const hits = res.ours.cachedHits;
    const all = hits.every((h) => h && h.hits === n && h.total === n);
    log(`  ours cached re-runs, cache hits: ${hits.map((h) => (h ? `${h.hits}/${h.total}` : '?')).join(', ')}  -> ${all ? '100% cached: OK' : 'NOT 100% cached'}`);
    log(`  baseline cached re-runs, cache hits: ${res.baseline.cachedHits.map((h) => (h ? `${h.hits}/${h.total}` : '?')).join(', ')}`);
    if (daemon) for (const ws of [ours.ws, base.ws]) await runNx(ws, ['daemon', '--stop'], { env });
    if (opts.only.has(2)) row(`2. ours 100% cached on re-run, ${daemon ? 'daemon' : 'no daemon'}`, hits.map((h) => (h ? `${h.hits}/${h.total}` : '?')).join(' '), '', '', '100%', all ? 'OK' : 'NOT 100%');
  });
}
}

// ------------------------------------------------------------------ 3: project graph

let graphOurs;
if (opts.only.has(3)) {
  await section(`3. project-graph creation: nx show projects, ${size.graph}-stage run vs ${size.graph} package.json projects`, async () => {
    graphOurs = track(campaignWorkspace(repoRoot, 'graph', 'wide', wideDag(size.graph)));
    const base = track(packageJsonWorkspace(repoRoot, 'graph-base', size.graph));
    log(`  ours:     ${graphOurs.ws}  (runs/wide.yaml: 1 prep -> ${size.graph - 2} stages -> 1 final)`);
    log(`  baseline: ${base.ws}  (${size.graph} x packages/pNNNN/package.json, workspaces: ["packages/*"])`);
    const sides = { ours: graphOurs.ws, baseline: base.ws };
    const args = ['show', 'projects'];
    for (const [name, ws] of Object.entries(sides)) {
      const r = await runNxOk(ws, args); // warm-up: creates .nx, not timed
      const count = r.out.split('\n').filter((l) => /^\S+$/.test(l.trim()) && !l.startsWith(' ')).length;
      log(`  warm-up ${name}: ${count} projects listed (${fmtS(r.seconds)}, not counted)`);
    }
    const res = { ours: { warm: [], cold: [] }, baseline: { warm: [], cold: [] } };
    for (let i = 0; i < opts.repeat; i++) {
      const order = i % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
      for (const name of order) {
        const ws = sides[name];
        const warm = await timed(ws, args);
        rmSync(join(ws, '.nx'), { recursive: true, force: true });
        const cold = await timed(ws, args);
        res[name].warm.push(warm.seconds);
        res[name].cold.push(cold.seconds);
        log(`  [${i + 1}/${opts.repeat}] ${name.padEnd(8)} warm ${fmtS(warm.seconds)} (busy ${pct(warm.busy)})   cold, no .nx ${fmtS(cold.seconds)} (busy ${pct(cold.busy)})`);
      }
    }
    for (const k of ['warm', 'cold']) {
      const ratio = median(res.ours[k]) / median(res.baseline[k]);
      log(`  ${k === 'warm' ? 'warm (.nx kept)' : 'cold (.nx removed)'}: ours median ${fmtS(median(res.ours[k]))} ${samples(res.ours[k])}, baseline median ${fmtS(median(res.baseline[k]))} ${samples(res.baseline[k])}, ratio ${fmtRatio(ratio)}  target <= ${TARGET.graph}  ${verdict(ratio <= TARGET.graph)}`);
      row(`3. nx show projects, ${size.graph}, ${k}`, fmtS(median(res.ours[k])), fmtS(median(res.baseline[k])), fmtRatio(ratio), `<= ${TARGET.graph}`, ratio <= TARGET.graph);
    }

    // Where the time goes inside Nx: one extra NX_PERF_LOGGING run per side (warm, not timed).
    log(`  NX_PERF_LOGGING=true, one warm run each (ms; lines >= 10 ms):`);
    for (const [name, ws] of Object.entries(sides)) {
      const r = await runNxOk(ws, args, { env: { NX_PERF_LOGGING: 'true' } });
      const lines = perfLines(r.out).filter(([, ms]) => ms >= 10);
      log(`    ${name} (wall ${fmtS(r.seconds)}):`);
      for (const [what, ms] of lines) log(`      ${ms.toFixed(0).padStart(6)}  ${what.replace(repoRoot, '<repo>')}`);
    }

    // The plugin's own share, in-process.
    const timings = [[`${size.graph} stages`, graphOurs.ws, 'runs/wide.yaml', size.graph]];
    if (fanOurs) timings.push([`${size.fan * 2 + 2} stages (fan-out of 1+2)`, fanOurs.ws, 'runs/fan.yaml', size.fan * 2 + 2]);
    for (const [label, ws, file, stages] of timings) {
      const r = spawnSync(process.execPath, [join(here, 'bench', 'plugin-timing.cjs'), repoRoot, ws, file, String(size.pluginCalls)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`plugin-timing.cjs failed:\n${r.stderr}`);
      const t = JSON.parse(r.stdout.trim().split('\n').pop());
      const med = median(t.runProjectsMs);
      const cold = median(t.coldMs);
      log(`  runProjects(ws, '${file}') in-process, ${label}: ${t.projects} projects`);
      log(`    require(dist/plugins/nodes.js) ${fmtMs(t.requireMs)}`);
      log(`    unchanged files (run cache reused): median ${fmtMs(med)} of ${samples(t.runProjectsMs, fmtMs)} ms = ${(med / stages).toFixed(2)} ms/stage`);
      log(`    after an edit (run cache deleted):  median ${fmtMs(cold)} of ${samples(t.coldMs, fmtMs)} ms = ${(cold / stages).toFixed(2)} ms/stage`);
      log(`    steps, each timed alone (median ms): ${Object.entries(t.phases).map(([k, v]) => (Array.isArray(v) ? `${k.trim()} ${median(v).toFixed(0)}` : `${k}: ${v}`)).join('; ')}`);
      if (stages === size.graph) {
        log(`    target < ${TARGET.pluginSeconds} s for ${size.graph} stages: ${verdict(med / 1000 < TARGET.pluginSeconds)}`);
        row(`3. runProjects() in-process, ${size.graph}`, fmtS(med / 1000), '', '', `< ${TARGET.pluginSeconds} s`, med / 1000 < TARGET.pluginSeconds);
        row(`3. ... after an edit, ${size.graph}`, fmtS(cold / 1000), '', '', `< ${TARGET.pluginSeconds} s`, cold / 1000 < TARGET.pluginSeconds);
      }
    }
  });
}

// ------------------------------------------------------------------ 4: cache size

if (opts.only.has(4)) {
  const total = size.bigCount * size.bigBytes;
  await section(`4. Nx cache growth for a run writing ${fmtBytes(total)} (${size.bigCount} x ${size.bigBytes / 2 ** 20} MiB)`, async () => {
    const big = track(campaignWorkspace(repoRoot, 'bigout', 'big', bigOutputDag(size.bigCount, size.bigBytes)));
    log(`  ours: ${big.ws}`);
    const args = ['run-many', '-t', 'stage', '--projects=tag:run:big', ...RUN_MANY];
    const cacheDir = join(big.ws, '.nx', 'cache');
    await runNxOk(big.ws, ['show', 'projects']); // so .nx exists and "before" is a real figure
    const before = duBytes(cacheDir);
    const run = await runNxOk(big.ws, args);
    const outBytes = duBytes(big.outputDir);
    const after = duBytes(cacheDir);
    const rerun = await runNxOk(big.ws, args);
    const afterRerun = duBytes(cacheDir);
    const rc = cacheStats(rerun.out);
    const growth = after - before;
    log(`  run ${fmtS(run.seconds)}: outputs on disk ${fmtBytes(outBytes)} (${outBytes} B)`);
    log(`  du -sb .nx/cache: before ${before} B, after ${after} B, after a cached re-run (${fmtS(rerun.seconds)}, cache ${rc ? `${rc.hits}/${rc.total}` : '?'} hit) ${afterRerun} B`);
    log(`  growth ${fmtBytes(growth)} (${growth} B)  target < ${fmtBytes(TARGET.cacheGrowthBytes)}  ${verdict(growth < TARGET.cacheGrowthBytes)}   (whole .nx: ${fmtBytes(duBytes(join(big.ws, '.nx')))})`);
    row(`4. .nx/cache growth, ${fmtBytes(total)} outputs`, fmtBytes(growth), '', '', `< ${fmtBytes(TARGET.cacheGrowthBytes)}`, growth < TARGET.cacheGrowthBytes);
    if (outBytes < total) throw new Error(`the run wrote ${outBytes} B, expected ${total} B`);
    rmSync(join(big.ws, 'results'), { recursive: true, force: true });
    log(`  big files deleted (${existsSync(big.outputDir) ? 'NOT removed!' : `${big.outputDir} removed`})`);
  });
}

// ------------------------------------------------------------------ 5: Snakemake

// The same fan-out DAG as a Snakefile (one rule per stage, the same shell commands), run with
// -j2 cold (outputs and .snakemake removed) and again with nothing to do, against ours with the
// Nx daemon from 1+2 (the Snakemake user's usual loop is one command on a workstation).
if (opts.only.has(5)) {
  await section(`5. Snakemake -j${PARALLEL} on the same fan-out DAG (${2 * size.fan + 2} rules), cold and nothing to do`, async () => {
    const version = spawnSync('snakemake', ['--version'], { encoding: 'utf8' });
    if (version.status !== 0) {
      log('  skipped: snakemake is not on the PATH (Debian: apt install snakemake)');
      row('5. vs Snakemake', 'skipped', '', '', '', 'SKIP');
      return;
    }
    if (oursDaemon.cold === undefined) throw new Error('needs section 1+2 (ours with the daemon) in the same run: --only 1,2,5');
    const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-snakemake-'));
    workspaces.push(dir);
    const dag = fanOutDag(size.fan);
    const q = (x) => JSON.stringify(x);
    const rules = dag.map((st) => `rule ${st.name}:\n    input: ${st.inputs.length ? st.inputs.map(q).join(', ') : '[]'}\n    output: ${q(st.outputs[0])}\n    shell: ${q(st.command)}\n`);
    writeFileSync(join(dir, 'Snakefile'), `rule all:\n    input: "final.txt"\n\n${rules.join('\n')}`);
    log(`  ${dir}: Snakefile of ${dag.length} rules; snakemake ${version.stdout.trim()}, -j${PARALLEL} --quiet`);
    const run = () => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('snakemake', [`-j${PARALLEL}`, '--quiet'], { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`snakemake failed: ${r.stderr.slice(-2000)}`);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const reset = () => {
      for (const f of readdirSync(dir)) if (f !== 'Snakefile') rmSync(join(dir, f), { recursive: true, force: true });
    };
    reset();
    run(); // warm-up: the OS file cache holds Snakemake and Python afterwards
    const cold = [];
    const nothing = [];
    for (let i = 0; i < opts.repeat; i++) {
      reset();
      cold.push(run());
      const made = countFiles(dir, (f) => f.endsWith('.txt'));
      if (made !== dag.length) throw new Error(`snakemake wrote ${made} of ${dag.length} outputs`);
      nothing.push(run());
    }
    for (const [k, xs, ours, target] of [['cold', cold, oursDaemon.cold, TARGET.snakemakeCold], ['nothing to do', nothing, oursDaemon.cached, TARGET.snakemakeNothing]]) {
      const ratio = ours / median(xs);
      log(`  ${k}: snakemake median ${fmtS(median(xs))}  samples ${samples(xs)}; ours (daemon, 1+2) ${fmtS(ours)}; ratio ${fmtRatio(ratio)}  target <= ${target.toFixed(1)}  ${verdict(ratio <= target)}`);
      row(`5. ${k} vs Snakemake, daemon`, fmtS(ours), fmtS(median(xs)), fmtRatio(ratio), `<= ${target.toFixed(1)}`, ratio <= target);
    }
  });
}

// ------------------------------------------------------------------ --profile

/** What to pick out of each process's CPU profile: inclusive time of these functions. */
const KEY_FIGURES = [
  ['hashing tasks up front (hashTasksThatDoNotDependOnOutputsOfOtherTasks; native, runs runtime inputs)', /^hashTasksThatDoNotDependOnOutputsOfOtherTasks /],
  ['reading the cache (TaskOrchestrator applyCachedResults)', /^applyCachedResults /],
  ['writing the cache (Cache.put)', /^put nx\/dist\/src\/tasks-runner\/cache\.js/],
  ['running tasks through nx:run-commands (runCommands)', /^runCommands nx\/dist\/src\/executors\/run-commands/],
  ['child_process.spawn, all callers', /^spawn node:child_process/],
  ['loading nx-campaign code (require of nx-campaign/index.js)', /^\(anonymous\) nx-campaign\/index\.js/],
  ['nx-campaign runProjects (createNodes)', /^runProjects nx-campaign\//],
  ['nx-campaign loadRun (YAML, validation, DAG)', /^loadRun nx-campaign\//],
  ['  of which YAML parsing (parseYaml)', /^parseYaml nx-campaign\//],
  ['  of which line look-ups (YamlFile.lineOf)', /^lineOf nx-campaign\//],
  ['nx-campaign batch executor (stageBatch)', /^stageBatch nx-campaign\//],
  ['nx-campaign engine (execute, all stages)', /^execute nx-campaign\/engine\//],
  ['nx-campaign record: attempts started (startAttempt)', /^startAttempt nx-campaign\//],
  ['nx-campaign record: attempts ended (endAttempt)', /^endAttempt nx-campaign\//],
  ['nx-campaign writeReceipt', /^writeReceipt nx-campaign\//],
];

if (opts.profile) {
  await section('profile: CPU profile of every Node process of one run of each kind', async () => {
    profileDir = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-profiles-'));
    const preload = join(here, 'bench', 'cpu-profile-preload.cjs');
    const profiled = async (label, ws, args, reset) => {
      const dir = join(profileDir, label);
      reset?.();
      const r = await runNx(ws, args, { env: { BENCH_CPU_PROF_DIR: dir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim() } });
      log(`\n  --- ${label}: wall ${fmtS(r.seconds)} (profiling slows it), exit ${r.status}; profiles in ${dir}`);
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
      const text = files.map((f) => summarizeProfile(join(dir, f), 40)).join('\n\n');
      writeFileSync(join(dir, 'summary.txt'), `${text}\n`);
      for (const f of files) {
        const role = f.startsWith('dist_bin_nx') ? 'nx main process' : f.includes('plugin-worker') ? 'plugin worker' : f.includes('run-batch') ? 'batch executor process' : f.includes('run-executor') || f.includes('forked-process') ? 'executor process' : f;
        const figures = keyFigures(join(dir, f), KEY_FIGURES);
        const sampled = summarizeProfile(join(dir, f), 0).split('\n')[0].replace(/^profile \S+: /, '');
        // plugin workers for Nx's own plugins only load code: one line is enough
        log(`    ${role} (${f}, ${sampled})${figures.length ? ':' : ''}`);
        for (const [name, ms] of figures) log(`      ${ms.toFixed(0).padStart(6)} ms  ${name}`);
      }
    };
    if (fanOurs) {
      const ws = fanOurs.ws;
      const args = ['run-many', '-t', 'stage', '--projects=tag:run:fan', ...RUN_MANY];
      await profiled('ours-cold', ws, args, () => ['.nx', 'results'].forEach((d) => rmSync(join(ws, d), { recursive: true, force: true })));
      await profiled('ours-cached', ws, args);
    }
    const baseWs = workspaces.find((w) => w.includes('-fan-base-'));
    if (baseWs) {
      const args = ['run-many', '-t', 'stage', ...RUN_MANY];
      await profiled('baseline-cold', baseWs, args, () => {
        rmSync(join(baseWs, '.nx'), { recursive: true, force: true });
        rmSync(join(baseWs, 'out'), { recursive: true, force: true });
        mkdirSync(join(baseWs, 'out'));
      });
      await profiled('baseline-cached', baseWs, args);
    }
    if (graphOurs) await profiled('ours-show-projects', graphOurs.ws, ['show', 'projects']);
    log(`\n  (inclusive CPU time sampled in that process; idle waiting is not counted)`);
    log(`  full summaries (top 40 self / inclusive): ${profileDir}/*/summary.txt; open a .cpuprofile in Chrome DevTools for the call tree`);
  });
}

// ------------------------------------------------------------------ summary

cleanup();
if (profileDir && !opts.keep) log(`\nprofiles kept in ${profileDir} (delete it when done)`);
log(`\n=== summary (medians of ${opts.repeat} repeat(s); ratio = ours / baseline; ${opts.quick ? 'QUICK sizes' : 'full sizes'})`);
const cols = [
  ['measurement', (r) => r.what],
  ['ours', (r) => r.ours],
  ['baseline', (r) => r.base],
  ['ratio', (r) => r.ratio],
  ['target', (r) => r.target],
  ['', (r) => r.verdict],
];
const widths = cols.map(([h, f]) => Math.max(h.length, ...summary.map((r) => String(f(r)).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
log(line(cols.map(([h]) => h)));
log(line(widths.map((w) => '-'.repeat(w))));
for (const r of summary) log(line(cols.map(([, f]) => f(r))));
log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s (of which ${((opts.quick ? 20 : 120) - Math.max(0, budget.leftSec)).toFixed(0)} s waiting for idle cores); load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(failed ? 1 : 0);
