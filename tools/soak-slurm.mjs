#!/usr/bin/env node
/**
 * Soak test on the test SLURM of tools/slurm/start.sh (root: it stops the controller and sets the
 * node's state): one run of --jobs short stages (lanes of chains, each stage afterok on the one
 * before it in its lane) through `nx run-many`, with a random fault from tools/slurm/fault.sh or
 * scontrol every --every seconds for --minutes minutes. It ends when nx does, and checks that
 * every stage succeeded exactly once: one succeeded attempt in the record, its output there, and
 * one line in ran.log (each stage appends its name there as its last act).
 *
 *   node tools/soak-slurm.mjs [--jobs 2000] [--lanes 100] [--sleep 8] [--minutes 20] [--every 60] [--limit M] [--seed N] [--keep]
 *
 * --limit: minutes after which nx is interrupted and the soak fails, printing what still waits
 * (default: 2 x --minutes + 15). SIGINT or SIGTERM to this script does the same. Either way the
 * controller is started and the node resumed before it exits.
 *
 * Each stage sleeps --sleep seconds: 2,000 of 8 s on the test node's 16 cores keep it busy about 17 min.
 *
 * Prints the faults as they are injected, then jobs, faults, sbatch calls, lost, duplicated and
 * wall time (and --json: the same as JSON). Exits 1 unless 0 lost, 0 duplicated and nx exit 0.
 * Not part of npm test. Faults: the controller stopped 30 s; killed (SIGKILL) 10 s and restarted
 * from its save files; the node drained 20 s; set DOWN (SLURM requeues its jobs) and resumed;
 * one running job requeued; one pending job held 10 s. A node SLURM drains itself for a
 * "Duplicate jobid" (after the kill) is resumed, as an admin would.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const Database = createRequire(import.meta.url)('better-sqlite3');
const FAULT = join(repoRoot, 'tools/slurm/fault.sh');

const args = process.argv.slice(2);
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? d : Number(args[i + 1]);
};
const jobs = opt('jobs', 2000);
const lanes = Math.min(opt('lanes', 100), jobs);
const minutes = opt('minutes', 20);
const nap = opt('sleep', 8);
const every = opt('every', 60);
const limit = opt('limit', 2 * minutes + 15);
let seed = opt('seed', Date.now() % 1_000_000);
const json = args.includes('--json');
const keep = args.includes('--keep');
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31); // repeatable with --seed

const sh = (cmd, a) => execFileSync(cmd, a, { encoding: 'utf8' });
const quiet = (cmd, a) => {
  try {
    return sh(cmd, a);
  } catch (e) {
    return `${e.stderr ?? e.message}`;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}\n`);

// The workspace: this one's package.json and nx.json, its node_modules, one pipeline and one run.
const ws = mkdtempSync(join(tmpdir(), 'nx-campaign-soak-'));
for (const f of ['package.json', 'nx.json']) cpSync(join(repoRoot, f), join(ws, f));
symlinkSync(join(repoRoot, 'node_modules'), join(ws, 'node_modules'));
sh('git', ['init', '-q', ws]);
writeFileSync(join(ws, 'sites.yaml'), 'sites:\n  testslurm:\n    backend: slurm\n    partition: debug\n    node_classes:\n      - {name: vm, count: 1, cores: 16, memory: 8000M}\n');
const name = (i) => `s${String(i).padStart(5, '0')}`;
const stages = Array.from({ length: jobs }, (_, i) => name(i));
const stageYaml = (i) =>
  [
    `  ${name(i)}:`,
    '    executable: sh',
    `    script-args: ["-c", "sleep ${nap}; echo ok > ${name(i)}.txt; echo ${name(i)} >> ran.log"]`,
    `    depends: ${i >= lanes ? `[${name(i - lanes)}]` : 'null'}`,
    `    outputs: [${name(i)}.txt]`,
    '    resources: {memory: 50M, runtime: 2m}',
    '',
  ].join('\n');
mkdirSync(join(ws, 'pipelines/soak'), { recursive: true });
mkdirSync(join(ws, 'runs'));
writeFileSync(join(ws, 'pipelines/soak/pipeline.yaml'), `stages:\n${stages.map((_, i) => stageYaml(i)).join('')}`);
writeFileSync(join(ws, 'runs/soak.yaml'), 'pipelines: soak\nsite: testslurm\noutput_dir: results/out\nlog_dir: results/logs\nretries: {count: 0}\n');
// sbatch, counted.
mkdirSync(join(ws, 'bin'));
writeFileSync(join(ws, 'bin/sbatch'), `#!/bin/sh\necho x >> ${join(ws, 'sbatch.calls')}\nexec ${sh('sh', ['-c', 'command -v sbatch']).trim()} "$@"\n`);
chmodSync(join(ws, 'bin/sbatch'), 0o755);

const marker = `nx-campaign:${createHash('sha256').update(realpathSync(ws)).digest('hex').slice(0, 8)}:soak/`;
/** Our jobs as SLURM lists them: [id, state, reason]. */
const ours = () =>
  quiet('squeue', ['--noheader', '--me', '--Format=JobID:|,State:|,Reason:|,Comment:|'])
    .split('\n')
    .map((l) => l.split('|'))
    .filter(([, , , c]) => c?.startsWith(marker));
const pick = (list) => list[Math.floor(random() * list.length)];

const faults = [];
const FAULTS = {
  async 'controller stopped 30 s'() {
    sh(FAULT, ['controller-stop']);
    await sleep(30_000);
    sh(FAULT, ['controller-start']);
  },
  async 'controller killed, 10 s'() {
    sh(FAULT, ['controller-stop', '--kill']);
    await sleep(10_000);
    sh(FAULT, ['controller-start']);
  },
  async 'node drained 20 s'() {
    sh(FAULT, ['node', 'drain', 'soak: drained']);
    await sleep(20_000);
    sh(FAULT, ['node', 'resume']);
  },
  async 'node down'() {
    sh(FAULT, ['node', 'down', 'soak: down']);
    await sleep(3_000);
    sh(FAULT, ['node', 'resume']);
  },
  async 'a running job requeued'() {
    const j = pick(ours().filter(([, s]) => s === 'RUNNING'));
    if (j) quiet('scontrol', ['requeue', j[0]]);
    return j && `job ${j[0]}`;
  },
  async 'a pending job held 10 s'() {
    const j = pick(ours().filter(([, s]) => s === 'PENDING'));
    if (!j) return undefined;
    quiet('scontrol', ['hold', j[0]]);
    await sleep(10_000);
    quiet('scontrol', ['release', j[0]]);
    return `job ${j[0]}`;
  },
};

const t0 = Date.now();
log(`workspace ${ws}: ${jobs} stages in ${lanes} lanes; a fault every ${every} s for ${minutes} min (seed ${seed})`);
const nx = spawn(join(repoRoot, 'node_modules/.bin/nx'), ['run-many', '-t', 'stage', '--projects=tag:run:soak', '--outputStyle=static', '--pollInterval=2'], {
  cwd: ws,
  env: { ...process.env, PATH: `${join(ws, 'bin')}:${process.env.PATH}`, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
nx.stdout.on('data', (d) => (out += d));
nx.stderr.on('data', (d) => (out += d));
let code;
const exited = new Promise((r) => nx.on('exit', (c) => r((code = c))));

// Faults while nx runs, for --minutes; the admin's part throughout.
const faultsEnd = t0 + minutes * 60_000;
(async () => {
  for (let next = Date.now() + every * 1000; code === undefined; await sleep(1000)) {
    if (/drain/.test(quiet('sinfo', ['-h', '-o', '%T'])) && /Duplicate jobid/.test(quiet('sinfo', ['-h', '-R']))) {
      log('admin: node drained by SLURM (Duplicate jobid): resumed');
      quiet(FAULT, ['node', 'resume']);
    }
    if (Date.now() < next || Date.now() > faultsEnd) continue;
    const what = pick(Object.keys(FAULTS));
    log(`fault: ${what}`);
    const detail = await FAULTS[what]();
    faults.push(detail ? `${what} (${detail})` : what);
    next = Date.now() + every * 1000;
  }
})();

// Past --limit, or on SIGINT/SIGTERM: interrupt nx (it cancels its jobs) and report what waited.
let stopped;
const stop = (why) => {
  if (stopped || code !== undefined) return;
  stopped = why;
  log(`${why}: interrupting nx; still queued: ${ours().map(([id, st, reason]) => `${id} ${st} ${reason}`).slice(0, 20).join('; ') || 'none'}`);
  nx.kill('SIGINT');
  setTimeout(() => code === undefined && nx.kill('SIGKILL'), 60_000).unref();
};
const limitTimer = setTimeout(() => stop(`limit of ${limit} min reached`), limit * 60_000);
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
await exited;
clearTimeout(limitTimer);
const wall = (Date.now() - t0) / 1000;
quiet(FAULT, ['controller-start']);
quiet(FAULT, ['node', 'resume']);

// Exactly once: the record, the outputs, ran.log.
const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
const succeeded = new Map();
for (const { stage, n } of db.prepare("SELECT stage, COUNT(*) AS n FROM attempts WHERE state = 'succeeded' GROUP BY stage").all()) succeeded.set(stage, n);
const classes = db.prepare("SELECT state, failure_class AS class, COUNT(*) AS n FROM attempts WHERE state != 'succeeded' GROUP BY state, failure_class").all();
const attemptsN = db.prepare('SELECT COUNT(*) AS n FROM attempts').get().n;
db.close();
const ranLines = existsSync(join(ws, 'results/out/ran.log')) ? readFileSync(join(ws, 'results/out/ran.log'), 'utf8').trim().split('\n').filter(Boolean) : [];
const ran = new Map();
for (const s of ranLines) ran.set(s, (ran.get(s) ?? 0) + 1);
const lost = stages.filter((s) => !succeeded.has(s) || !existsSync(join(ws, `results/out/${s}.txt`)));
const duplicated = stages.filter((s) => (succeeded.get(s) ?? 0) > 1 || (ran.get(s) ?? 0) > 1);
const sbatchCalls = existsSync(join(ws, 'sbatch.calls')) ? readFileSync(join(ws, 'sbatch.calls'), 'utf8').trim().split('\n').length : 0;
const summary = { date: new Date().toISOString().slice(0, 10), jobs, lanes, sleep: nap, minutes, every, seed, stopped, nxExit: code, wallSeconds: Math.round(wall), faults: faults.length, faultList: faults, sbatchCalls, attempts: attemptsN, otherAttempts: classes, lost: lost.length, duplicated: duplicated.length };
log(`nx exited ${code} after ${wall.toFixed(0)} s`);
process.stdout.write(
  `jobs ${jobs}, faults ${faults.length}, sbatch calls ${sbatchCalls}, attempts ${attemptsN}, lost ${lost.length}${lost.length ? ` (${lost.slice(0, 10).join(', ')})` : ''}, duplicated ${duplicated.length}${duplicated.length ? ` (${duplicated.slice(0, 10).join(', ')})` : ''}, wall ${wall.toFixed(0)} s\n` +
    `attempts that did not succeed, by state and class: ${classes.map((c) => `${c.state}/${c.class ?? '-'} ${c.n}`).join(', ') || 'none'}\n`,
);
if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
if (code !== 0) process.stdout.write(`--- last lines of nx ---\n${out.trim().split('\n').slice(-30).join('\n')}\n`);
for (const [id] of ours()) quiet('scancel', [id]);
const passed = !stopped && code === 0 && !lost.length && !duplicated.length;
if (!keep && passed) rmSync(ws, { recursive: true, force: true });
else log(`workspace kept: ${ws}`);
process.exit(passed ? 0 : 1);
