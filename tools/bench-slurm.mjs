#!/usr/bin/env node
// SLURM backend benchmark: big generated runs submitted to the local SLURM through nx run-many.
//
//   npm run build && tools/slurm/start.sh && node tools/bench-slurm.mjs [--quick] [--keep]
//
// What it measures, in throw-away workspaces under os.tmpdir() whose run names the site
// `testslurm` (backend: slurm, as in test/slurm.e2e.spec.ts):
//   0. what one submission costs without the backend: execFile of /bin/true and of
//      `sbatch --version` from Node (process spawn), and `sbatch --hold` job submissions from
//      Node one at a time (as the backend submits) and 8 at a time; held jobs never run and
//      are cancelled at once.
//   1. a generated 1,000-stage run (socm DAG dialect; root -> 5 layers of 200 -> final, each
//      layer stage afterok on two of the layer before; stages run `true` or `sleep 0` with
//      10M memory, 1m runtime) run with `nx run-many -t stage --projects=tag:run:<run>` and
//      the default poll interval (no --pollInterval, i.e. 5 s):
//      - submissions per second: nx's output goes to a file polled every 2 ms and each line is
//        stamped when it is seen; rate = (submissions - 1) / (last - first
//        "[stage] submitted as job N" line), target >= 50/s.
//      - squeue and sacct calls per minute while it runs: a folder first on nx's PATH holds
//        shims `squeue` and `sacct` that append "$EPOCHREALTIME name" to a log and exec the
//        real binary; calls from the last submission to nx's exit (the polling phase: the
//        backend asks nothing while submitting), per minute; target <= 12/min in all.
//        (sacct's one call there is the backend's accounting probe: this test SLURM has none.)
//      - last job end -> nx exit: nx's exit time minus the latest end time in the
//        `<log_dir>/<stage>.exit` files ("<code> <start> <end>", epoch seconds). The end is
//        truncated to the second, so the figure is an upper bound (the true value is at most
//        1 s less); target < 2 poll intervals (10 s).
//   2. the same with a 100-stage run: squeue calls per minute must not grow with the stages.
//      Its DAG is deep (root -> 65 layers of 2, then 1 -> final), so that it runs about as
//      long as the wide 1,000-stage one (~1 min): 100 stages in 5 layers end in ~8 s, after
//      one or two polls, too few for a per-minute figure.
//   "calls/min" counts the one-off sacct accounting probe too; the steady-state squeue rate
//   (mean gap between squeue calls) is printed beside it.
// --quick: a 200-stage run instead of 1,000 and the 100-stage one 20 layers deep (a smoke run,
//   ~40 s; its runs are too short for good per-minute figures), fewer sbatch timings.
// --keep: leave the workspaces and shim logs in os.tmpdir().
// Figures, not asserts: exit 0 unless a measurement could not be taken (nx failed, a stage
// failed, SLURM missing: 1; bad usage, plugin not built: 2). SLURM here is shared: jobs of
// others in the queue (printed at the start) slow things down. Every nx call: NX_DAEMON=false
// NX_NO_CLOUD=true NX_TUI=false, --outputStyle=static.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './bench/measure.mjs';
import { layeredDag, makeShims, readExitFiles, readShimLog, runNxStamped, scancelSync, slurmWorkspace, stillQueued, timeExec, timeSbatch } from './bench/slurm.mjs';
import { removeWorkspace } from './bench/workspaces.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

// ------------------------------------------------------------------ options

function usage(problem) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const text = lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n');
  if (problem) console.error(`bench-slurm: ${problem}\n`);
  (problem ? console.error : console.log)(text);
  process.exit(problem ? 2 : 0);
}

const opts = { quick: false, keep: false };
for (const a of process.argv.slice(2)) {
  if (a === '--quick') opts.quick = true;
  else if (a === '--keep') opts.keep = true;
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown option ${a}`);
}

const POLL_SECONDS = 5; // the backend's default (DEFAULT_POLL_SECONDS); no --pollInterval is passed
const TARGET = { rate: 50, callsPerMin: 12, exitLatency: 2 * POLL_SECONDS };
const sizes = opts.quick ? [200, 100] : [1000, 100];
// Layers of each run's DAG. Jobs here go about 20/s and each layer of dependants waits 0.5-1 s
// for SLURM to start it, so the wide 1,000-stage run lasts ~60 s; the 100-stage run is made
// deep (65 layers: 33 of 2, 32 of 1) to last about as long: with 5 layers it is over in ~8 s,
// too short for a per-minute figure (one or two calls in all).
const LAYERS = opts.quick ? { 200: 5, 100: 20 } : { 1000: 5, 100: 65 };
const SBATCH_SAMPLES = opts.quick ? { seq: 20, par: 40 } : { seq: 50, par: 100 };
const TIMEOUT_SEC = { 1000: 420, 200: 240, 100: 180 };

const log = (s = '') => console.log(s);
const verdict = (ok) => (ok ? 'OK' : 'OVER');
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const summary = []; // [measurement, measured, target, verdict, detail]
let failed = false;

// ------------------------------------------------------------------ set-up

const distBatch = join(repoRoot, 'packages', 'nx-campaign', 'dist', 'executors', 'stage', 'stage-batch.impl.js');
if (!existsSync(distBatch)) {
  console.error(`bench-slurm: ${distBatch} is missing: run \`npm run build\` first`);
  process.exit(2);
}
const sinfo = spawnSync('sinfo', ['--noheader', '-o', '%T %c %m'], { encoding: 'utf8' });
if (sinfo.status !== 0) {
  console.error(`bench-slurm: sinfo failed (${(sinfo.stderr || sinfo.error?.message || '').trim()}): start SLURM with tools/slurm/start.sh`);
  process.exit(1);
}

const workspaces = [];
const tempDirs = [];
const submittedIds = new Set(); // every job id our nx runs printed, for clean-up on interrupt
let current; // the running nx, if any
let interrupted = false;
function cleanup() {
  const left = stillQueued([...submittedIds]);
  if (left.length) {
    log(`  cancelling ${left.length} job(s) of ours still queued`);
    scancelSync(left);
  }
  if (opts.keep) {
    if (workspaces.length || tempDirs.length) log(`\nkept (--keep):\n  ${[...workspaces, ...tempDirs].join('\n  ')}`);
    return;
  }
  for (const d of [...workspaces.splice(0), ...tempDirs.splice(0)]) removeWorkspace(d);
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    interrupted = true;
    console.error(`\nbench-slurm: ${sig}: interrupting nx, cancelling our jobs, removing workspaces`);
    if (current) {
      current.interrupt();
      await Promise.race([current.done.catch(() => {}), new Promise((r) => setTimeout(r, 20_000))]);
    }
    cleanup();
    process.exit(130);
  });
}

const started = Date.now();
const nxVersion = JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'nx', 'package.json'), 'utf8')).version;
const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || '?';
const slurmVersion = spawnSync('sinfo', ['--version'], { encoding: 'utf8' }).stdout.trim();
const config = spawnSync('scontrol', ['show', 'config'], { encoding: 'utf8' }).stdout;
const cfg = (k) => config.match(new RegExp(`^${k}\\s*=\\s*(.*)$`, 'm'))?.[1]?.trim() ?? '?';
const queued = () => spawnSync('squeue', ['--noheader', '--format=%T'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const q0 = queued();
const active = q0.filter((s) => /PENDING|RUNNING|CONFIGURING|COMPLETING/.test(s)).length;
log(`nx-campaign SLURM backend benchmark  ${new Date().toISOString()}`);
log(`  repo ${repoRoot} @ ${head} (dist built ${statSync(distBatch).mtime.toISOString()}), Nx ${nxVersion}, Node ${process.version}`);
log(`  machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
log(`  ${slurmVersion}; node(s): ${sinfo.stdout.trim().split('\n').join('; ')} (state cpus memoryMB); MaxJobCount ${cfg('MaxJobCount')}, MinJobAge ${cfg('MinJobAge')}, SchedulerParameters ${cfg('SchedulerParameters')}`);
log(`  queue now: ${q0.length} job(s) known to slurmctld, ${active} pending/running (others' jobs share the node)`);
log(`  mode: ${opts.quick ? 'quick' : 'full'}: runs of ${sizes.join(' and ')} stages, default poll interval (${POLL_SECONDS} s); workspaces in ${tmpdir()}`);
const maxJobs = Number(cfg('MaxJobCount'));
if (Number.isFinite(maxJobs) && q0.length + sizes[0] + SBATCH_SAMPLES.seq + SBATCH_SAMPLES.par > maxJobs) {
  log(`  WARNING: MaxJobCount ${maxJobs} may be too small for ${q0.length} known jobs + ${sizes[0]} new ones; sbatch may refuse`);
}

const never = () => new Promise(() => {}); // after an interrupt: the signal handler exits
async function section(title, fn) {
  if (interrupted) return never();
  log(`\n=== ${title}`);
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    failed = true;
    log(`  ERROR: ${e.stack ?? e}`);
    summary.push([title.replace(/\s*\(.*$/, ''), '-', '-', 'ERROR', String(e.message ?? e).split('\n')[0]]);
  }
  log(`  (section took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

// ------------------------------------------------------------------ 0: what a submission costs

let sbatchSeq;
await section('0. one submission without the backend: process spawn and sbatch from Node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-sbatch-'));
  tempDirs.push(dir);
  const trueMs = await timeExec('/bin/true', [], 50);
  const versionMs = await timeExec('sbatch', ['--version'], 20);
  log(`  execFile /bin/true:          ${fmt(trueMs, 2)} ms per call (Node's process spawn)`);
  log(`  execFile sbatch --version:   ${fmt(versionMs, 2)} ms per call (sbatch starts, no controller RPC)`);
  const seq = await timeSbatch(SBATCH_SAMPLES.seq, { concurrency: 1, dir });
  const seqMed = median(seq.perCallMs);
  sbatchSeq = { median: seqMed, rate: SBATCH_SAMPLES.seq / (seq.wallMs / 1000) };
  const sorted = [...seq.perCallMs].sort((a, b) => a - b);
  log(`  sbatch --hold, 1 at a time:  ${SBATCH_SAMPLES.seq} jobs in ${fmt(seq.wallMs / 1000, 2)} s = ${fmt(sbatchSeq.rate)}/s; per call median ${fmt(seqMed, 2)} ms, p90 ${fmt(sorted[Math.floor(0.9 * (sorted.length - 1))], 2)} ms, max ${fmt(sorted.at(-1), 2)} ms`);
  const par = await timeSbatch(SBATCH_SAMPLES.par, { concurrency: 8, dir });
  const parRate = SBATCH_SAMPLES.par / (par.wallMs / 1000);
  log(`  sbatch --hold, 8 at a time:  ${SBATCH_SAMPLES.par} jobs in ${fmt(par.wallMs / 1000, 2)} s = ${fmt(parRate)}/s; per call median ${fmt(median(par.perCallMs), 2)} ms (slurmctld serialises them)`);
  log(`  (held jobs, chained afterok with --kill-on-invalid-dep and --nice as the backend submits; cancelled at once)`);
  summary.push(['sbatch alone from Node, 1 at a time (info)', `${fmt(sbatchSeq.rate)}/s`, '', '', `median ${fmt(seqMed, 2)} ms/call; /bin/true spawn ${fmt(trueMs, 2)} ms; 8 at a time ${fmt(parRate)}/s`]);
});

// ------------------------------------------------------------------ 1, 2: whole runs

const results = {};
for (const [idx, n] of sizes.entries()) {
  await section(`${idx + 1}. ${n}-stage run on SLURM through nx run-many, default poll interval`, async () => {
    const run = `bench${n}`;
    const dag = layeredDag(n, LAYERS[n]);
    const perLayer = new Map();
    for (const st of dag.slice(1, -1)) perLayer.set(st.name.split('_')[0], (perLayer.get(st.name.split('_')[0]) ?? 0) + 1);
    const widest = Math.max(...perLayer.values());
    const w = slurmWorkspace(repoRoot, `slurm${n}`, run, dag);
    workspaces.push(w.ws);
    const shims = makeShims(['squeue', 'sacct']);
    tempDirs.push(shims.dir);
    const edges = dag.reduce((a, s) => a + s.depends.length, 0);
    log(`  workspace ${w.ws}: runs/${run}.yaml, ${dag.length} stages, ${edges} afterok edges (root -> ${LAYERS[n]} layers of <= ${widest} -> final), memory 10M, runtime 1m`);
    log(`  shims ${shims.dir}/{squeue,sacct} first on PATH -> ${shims.real.squeue}, ${shims.real.sacct}`);
    const args = ['run-many', '-t', 'stage', `--projects=tag:run:${run}`, '--outputStyle=static'];
    log(`  nx ${args.join(' ')}`);
    const SUB = /^\[(\S+)\] submitted as job (\d+)/;
    let shown = 0;
    current = runNxStamped(w.ws, args, {
      env: { PATH: `${shims.dir}:${process.env.PATH}` },
      timeoutSec: TIMEOUT_SEC[n] ?? 600,
      onLine: (l) => {
        const m = SUB.exec(l.text);
        if (m) submittedIds.add(m[2]);
        else if (/^\s*NX\s/.test(l.text) && shown++ < 4) log(`    | ${l.text.trim()}`);
      },
    });
    const r = await current.done;
    if (interrupted) return never();
    current = undefined;
    const wall = (r.tExit - r.t0) / 1000;
    const subs = r.lines.map((l) => ({ l, m: SUB.exec(l.text) })).filter((x) => x.m).map(({ l, m }) => ({ t: l.t, stage: m[1], id: m[2] }));
    const exits = readExitFiles(w.logDir);
    const bad = exits.filter((e) => e.code !== 0);
    log(`  nx exited ${r.status} after ${fmt(wall, 1)} s; ${subs.length} submitted, ${exits.length} exit files (${bad.length} non-zero)`);
    if (r.status !== 0 || subs.length !== n || exits.length !== n || bad.length) {
      const problems = [r.status !== 0 && `nx exited ${r.status}`, subs.length !== n && `${subs.length}/${n} submitted`, exits.length !== n && `${exits.length}/${n} exit files`, bad.length && `${bad.length} stages failed`].filter(Boolean);
      log(`  last lines of nx:\n${r.lines.slice(-30).map((l) => `    | ${l.text}`).join('\n')}`);
      throw new Error(`${n}-stage run did not complete: ${problems.join(', ')}`);
    }

    // submissions
    const tasksLine = r.lines.find((l) => /NX\s+Running \d+ tasks? with/.test(l.text));
    const first = subs[0].t;
    const last = subs.at(-1).t;
    const span = (last - first) / 1000;
    const rate = (subs.length - 1) / span;
    const gapsInOrder = subs.slice(1).map((s, i) => ({ ms: s.t - subs[i].t, after: i + 1, at: (subs[i].t - r.t0) / 1000 }));
    const gaps = gapsInOrder.map((g) => g.ms).sort((a, b) => a - b);
    const longest = [...gapsInOrder].sort((a, b) => b.ms - a.ms).slice(0, 3);
    const perSub = (span * 1000) / (subs.length - 1);
    log(`  timeline (s after nx started): batch handed to the executor ${tasksLine ? fmt((tasksLine.t - r.t0) / 1000, 2) : '?'}, first submission ${fmt((first - r.t0) / 1000, 2)}, last ${fmt((last - r.t0) / 1000, 2)}, nx exit ${fmt(wall, 2)}`);
    log(`  submissions: ${subs.length} in ${fmt(span, 2)} s = ${fmt(rate)}/s; ${fmt(perSub, 2)} ms each (sbatch alone, section 0: ${sbatchSeq ? fmt(sbatchSeq.median, 2) : '?'} ms); gaps median ${fmt(median(gaps), 2)} ms, p90 ${fmt(gaps[Math.floor(0.9 * (gaps.length - 1))], 2)} ms, max ${fmt(gaps.at(-1), 1)} ms`);
    log(`  longest gaps: ${longest.map((g) => `${fmt(g.ms, 0)} ms after submission ${g.after} (${fmt(g.at, 2)} s)`).join(', ')}; ${gaps.filter((g) => g > 50).length} gaps over 50 ms, ${fmt(gaps.filter((g) => g > 50).reduce((a, b) => a + b, 0) / 1000, 2)} s in all`);
    if (tasksLine) log(`  executor start -> first submission (load run, plan ${n} stages, render ${n} scripts): ${fmt((first - tasksLine.t) / 1000, 2)} s`);

    // jobs
    const firstStart = Math.min(...exits.map((e) => e.start));
    const lastEnd = Math.max(...exits.map((e) => e.end));
    const lastStage = exits.filter((e) => e.end === lastEnd).map((e) => e.stage);
    log(`  jobs ran from ${fmt(firstStart - r.t0 / 1000, 0)} s to ${fmt(lastEnd - r.t0 / 1000, 0)} s after nx started (exit files, 1 s resolution); last to end: ${lastStage.slice(0, 3).join(', ')}${lastStage.length > 3 ? ', ...' : ''}`);

    // polls
    const calls = readShimLog(shims.logFile);
    const inPolling = calls.filter((c) => c.t >= last && c.t <= r.tExit);
    const pollMin = (r.tExit - last) / 60000;
    const count = (cs, cmd) => cs.filter((c) => c.cmd === cmd).length;
    const sq = count(inPolling, 'squeue');
    const sa = count(inPolling, 'sacct');
    const perMin = (sq + sa) / pollMin;
    const sqTimes = calls.filter((c) => c.cmd === 'squeue').map((c) => c.t);
    const sqGaps = sqTimes.slice(1).map((t, i) => (t - sqTimes[i]) / 1000);
    const meanGap = sqGaps.length ? (sqTimes.at(-1) - sqTimes[0]) / 1000 / sqGaps.length : NaN; // steady state, free of the window's edges
    log(`  SLURM queries: ${count(calls, 'squeue')} squeue + ${count(calls, 'sacct')} sacct in all (${calls.filter((c) => c.t < last).length} during submission); polling phase (last submission -> nx exit, ${fmt(pollMin * 60, 1)} s): ${sq} squeue + ${sa} sacct = ${fmt(perMin)}/min (squeue alone ${fmt(sq / pollMin)}/min)`);
    log(`  squeue calls at (s after nx started): ${sqTimes.map((t) => fmt((t - r.t0) / 1000, 1)).join(' ') || 'none'}${sqGaps.length ? `; gaps ${fmt(Math.min(...sqGaps), 1)}-${fmt(Math.max(...sqGaps), 1)} s, mean ${fmt(meanGap, 2)} s = ${fmt(60 / meanGap)}/min` : ''}`);

    // end -> exit
    const latency = r.tExit / 1000 - lastEnd;
    const resultLines = r.lines.filter((l) => l.text.startsWith(`${run}/`));
    const lastResult = resultLines.at(-1);
    log(`  last job end -> nx exit: <= ${fmt(latency, 2)} s (between ${fmt(Math.max(0, latency - 1), 2)} and ${fmt(latency, 2)}: exit files have 1 s resolution)${lastResult ? `; its result printed ${fmt((r.tExit - lastResult.t) / 1000, 2)} s before the exit` : ''}`);

    results[n] = { rate, perMin, sq, sa, pollMin, latency, span, wall, meanGap };
    summary.push([`submissions/s, ${n} stages`, `${fmt(rate)}/s`, `>= ${TARGET.rate}/s`, verdict(rate >= TARGET.rate), `${subs.length} in ${fmt(span, 2)} s (${fmt(perSub, 1)} ms each; first after ${fmt((first - r.t0) / 1000, 1)} s of nx start-up + planning)`]);
    summary.push([`squeue+sacct calls/min while running, ${n} stages`, `${fmt(perMin)}/min`, `<= ${TARGET.callsPerMin}/min`, verdict(perMin <= TARGET.callsPerMin), `${sq} squeue + ${sa} sacct in ${fmt(pollMin * 60, 0)} s of polling (sacct: the accounting probe)${sqGaps.length ? `; squeue every ${fmt(meanGap, 1)} s on average` : ''}; nx wall ${fmt(wall, 0)} s`]);
    summary.push([`last job end -> nx exit, ${n} stages`, `<= ${fmt(latency, 2)} s`, `< ${TARGET.exitLatency} s`, verdict(latency < TARGET.exitLatency), `2 poll intervals of ${POLL_SECONDS} s; end times have 1 s resolution`]);
  });
}

const [big, small] = sizes.map((n) => results[n]);
if (big && small) {
  const ok = big.perMin <= TARGET.callsPerMin && small.perMin <= TARGET.callsPerMin;
  summary.push([`calls/min independent of stages (${sizes[1]} vs ${sizes[0]})`, `${fmt(small.perMin)} vs ${fmt(big.perMin)}`, `both <= ${TARGET.callsPerMin}/min`, verdict(ok), `squeue alone ${fmt(small.sq / small.pollMin)} vs ${fmt(big.sq / big.pollMin)}/min, mean gap ${fmt(small.meanGap, 1)} vs ${fmt(big.meanGap, 1)} s; one call covers all jobs`]);
}

// ------------------------------------------------------------------ summary

cleanup();
log(`\n=== targets (${opts.quick ? 'QUICK: ' : ''}runs of ${sizes.join(' and ')} stages, default poll interval ${POLL_SECONDS} s)`);
const header = ['measurement', 'measured', 'target', 'verdict', 'detail'];
const widths = header.map((h, i) => Math.max(h.length, ...summary.map((r) => String(r[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
log(line(header));
log(line(widths.map((w) => '-'.repeat(w))));
for (const r of summary) log(line(r));
log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(failed ? 1 : 0);
