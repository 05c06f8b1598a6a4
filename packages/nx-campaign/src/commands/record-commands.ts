/**
 * The campaign record's commands: status, report, logs, cancel, retry, clean. Each returns
 * its text; `campaign <command>` and the run's Nx targets print it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, join, posix } from 'node:path';
import Table from 'cli-table3';
import { createTwoFilesPatch } from 'diff';
import { CampaignError } from '../format/errors';
import { formatDuration, formatElapsed } from '../format/quantities';
import { loadRun } from '../config/run';
import { absolutePath, stageInvocation } from '../model/command';
import { runNameOf, type Run } from '../model/run';
import { scancel } from '../backends/slurm/commands';
import { CampaignRecord, FINAL_STATES, invocationLive, processAlive, type AttemptRow, type AttemptState, type Invocation } from '../store/record';
import { fileStamp, receiptStamps, workspaceDataDir } from '../store/stage-state';
import { STATE_COLUMNS } from '../store/overview';
import type { FailureClass } from '../store/result';

const TAIL_LINES = 30;
const DAY = 86400;

function openRecord(wsRoot: string): CampaignRecord {
  const rec = CampaignRecord.openExisting(wsRoot);
  if (!rec) throw new CampaignError('nothing recorded yet in this workspace (no .campaign/record.sqlite, or none at NX_CAMPAIGN_RECORD)\n  fix: run something first: npx nx run-many -t stage --projects=tag:run:<run>');
  return rec;
}

function withRecord<T>(wsRoot: string, fn: (rec: CampaignRecord) => T): T {
  const rec = openRecord(wsRoot);
  try {
    return fn(rec);
  } finally {
    rec.close();
  }
}

/** How many of `classes` (failed latest attempts' classes) are of each class, most first: `2 science, 1 infrastructure`. */
function classCounts(classes: (FailureClass | null)[]): string {
  const n = new Map<string, number>();
  for (const c of classes) n.set(c ?? 'unclassified', (n.get(c ?? 'unclassified') ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${k} ${c}`).join(', ');
}

const failedState = (s: AttemptState | 'unready') => FINAL_STATES.includes(s as never) && s !== 'succeeded' && s !== 'pruned';

/** The latest attempt of each stage. */
function latest(attempts: AttemptRow[]): Map<string, AttemptRow> {
  const out = new Map<string, AttemptRow>();
  for (const a of attempts) out.set(a.stage, a);
  return out;
}

const RUN_FILE = /\.(ya?ml|toml)$/;

/** A run file argument: `runs/x.yaml` (or a campaign's `runs/x.toml`), or just the run's name. */
export function runNameArg(arg: string): string {
  return RUN_FILE.test(arg) ? runNameOf(arg) : arg;
}

export function loadRunArg(wsRoot: string, arg: string): Run {
  const file = RUN_FILE.test(arg) ? posix.normalize(arg) : (['runs', 'configs/runs'].flatMap((d) => ['yaml', 'yml', 'toml'].map((e) => `${d}/${arg}.${e}`)).find((f) => existsSync(join(wsRoot, f))) ?? `runs/${arg}.yaml`);
  return loadRun(wsRoot, file);
}

interface InvocationRow {
  id: number;
  run: string;
  pid: number;
  host: string;
  user: string;
  started_at: string;
  ended_at: string | null;
  state: string;
  version: number;
  site: string | null;
  backend: string | null;
  campaign: string | null;
}

export interface StatusOptions {
  all?: boolean;
  /** Seconds back from now; default 7 days. */
  since?: number;
  run?: string;
  campaign?: string;
  state?: string;
  site?: string;
}

/** Running and recent runs with per-state counts of their stages' latest attempts. */
export function status(wsRoot: string, o: StatusOptions = {}): string {
  return withRecord(wsRoot, (rec) => {
    const last = rec.db
      .prepare(
        `SELECT i.id, r.name AS run, i.pid, i.host, i.user, i.started_at, i.ended_at, i.state, v.version, v.site, v.backend, c.name AS campaign
         FROM invocations i JOIN runs r ON r.id = i.run_id JOIN run_versions v ON v.id = i.version_id LEFT JOIN campaigns c ON c.id = r.campaign_id
         WHERE i.id IN (SELECT MAX(id) FROM invocations GROUP BY run_id) ORDER BY i.started_at DESC`,
      )
      .all() as InvocationRow[];
    const since = Date.now() - (o.since ?? 7 * DAY) * 1000;
    const shown = last.filter(
      (i) =>
        (o.all || i.state === 'active' || Date.parse(i.started_at) >= since) &&
        (!o.run || i.run === runNameArg(o.run)) &&
        (!o.campaign || i.campaign === o.campaign) &&
        (!o.state || i.state === o.state) &&
        (!o.site || i.site === o.site),
    );
    const hidden = last.length - shown.length;
    const table = new Table({ head: ['run', 'version', 'site', 'backend', 'state', 'started', 'ended', 'stages', 'failures by class'], style: { head: [], border: [], compact: true } });
    for (const i of shown) {
      const counts = new Map<string, number>();
      const last = [...latest(rec.attempts(i.run)).values()];
      for (const a of last) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
      const stages = [...counts].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`).join(', ');
      const state = i.state === 'active' ? `running (pid ${i.pid} on ${i.host})` : i.state;
      table.push([i.run, i.version, i.site ?? '', i.backend ?? '', state, i.started_at.replace('T', ' ').slice(0, 19), i.ended_at?.replace('T', ' ').slice(0, 19) ?? '', stages, classCounts(last.filter((a) => failedState(a.state)).map((a) => a.failure_class))]);
    }
    const window = o.all ? 'all runs' : `runs active or started in the last ${formatDuration(o.since ?? 7 * DAY)}`;
    const foot = hidden ? `\n${hidden} other run(s) hidden${o.all ? ' by the filters' : '; --all shows them'}` : '';
    return shown.length ? `${window}:\n${table.toString()}${foot}\n` : `no ${window} match${foot}\n`;
  });
}


export interface ReportRow {
  stage: string;
  /** Latest attempt's state; `unready` when never attempted. */
  state: AttemptState | 'unready';
  attempts: number;
  jobId: string | null;
  exitCode: number | null;
  seconds: number | null;
  memoryMB: number | null;
  log: string | null;
  message: string | null;
  failureClass: FailureClass | null;
  /** Why a pending or held attempt waits, in the backend's words. */
  waitReason: string | null;
}

export function reportRows(wsRoot: string, runArg: string): { run: string; version?: number; rows: ReportRow[] } {
  const name = runNameArg(runArg);
  return withRecord(wsRoot, (rec) => {
    const attempts = rec.attempts(name);
    let stages: string[];
    try {
      stages = loadRunArg(wsRoot, runArg).stages;
    } catch {
      stages = [...new Set(attempts.map((a) => a.stage))]; // the run file is gone: what was recorded
    }
    if (!attempts.length && !rec.db.prepare('SELECT 1 FROM runs WHERE name = ?').get(name)) throw new CampaignError(`run ${name} is not in the record\n  fix: campaign status --all lists the recorded runs`);
    const last = latest(attempts);
    const rows = stages.map((stage): ReportRow => {
      const a = last.get(stage);
      return { stage, state: a?.state ?? 'unready', attempts: attempts.filter((x) => x.stage === stage).length, jobId: a?.job_id ?? null, exitCode: a?.exit_code ?? null, seconds: a?.seconds ?? null, memoryMB: a?.memory_mb ?? null, log: a?.log_path ?? null, message: a?.message ?? null, failureClass: a?.failure_class ?? null, waitReason: a?.wait_reason ?? null };
    });
    return { run: name, version: attempts.at(-1)?.version, rows };
  });
}

/** Per stage, counts per state (of its latest attempt) with EXPECTED and a TOTAL row, as `bps report`. */
/** A Rubin campaign's steps (stages with `config.step`), in order, with their groups. */
function stepsOf(wsRoot: string, runArg: string): { step: string; groups: string[]; review: boolean }[] {
  let run: Run;
  try {
    run = loadRunArg(wsRoot, runArg);
  } catch {
    return [];
  }
  const steps = new Map<string, { step: string; groups: string[]; review: boolean }>();
  for (const name of run.stages) {
    const c = run.dag.stages.get(name)!.config;
    if (typeof c.step !== 'string') continue;
    const s = steps.get(c.step) ?? { step: c.step, groups: [], review: c.review === true };
    s.groups.push(name);
    steps.set(c.step, s);
  }
  return [...steps.values()];
}

/**
 * A step's state as cm-service names it: accepted (reviewed, or done without a review gate),
 * reviewable (done, waiting for `campaign accept`), running, failed, or waiting.
 */
function stepState(groups: ReportRow[], review: boolean, accepted: { by: string; at: string } | undefined): string {
  if (accepted) return `accepted by ${accepted.by} at ${accepted.at}`;
  if (groups.every((g) => g.state === 'succeeded')) return review ? 'reviewable: npx campaign accept <campaign> <step> lets its dependants start' : 'accepted';
  if (groups.some((g) => FINAL_STATES.includes(g.state as never) && g.state !== 'succeeded')) return 'failed';
  if (groups.some((g) => g.state !== 'unready')) return 'running';
  return 'waiting';
}

/** `campaign accept <campaign> <step>`: the review gate of a step opens for its dependants. */
export function accept(wsRoot: string, runArg: string, step: string, note?: string): string {
  const name = runNameArg(runArg);
  const steps = stepsOf(wsRoot, runArg);
  const s = steps.find((x) => x.step === step);
  if (!s) throw new CampaignError(`${name} has no step ${step}${steps.length ? `; its steps: ${steps.map((x) => x.step).join(', ')}` : ' (it is not a Rubin campaign)'}`);
  const by = process.env.USER || userInfo().username;
  return withRecord(wsRoot, (rec) => {
    const done = reportRows(wsRoot, runArg).rows.filter((r) => s.groups.includes(r.stage) && r.state !== 'succeeded');
    const a = rec.accept(name, step, by, note);
    const warn = done.length ? `\nwarning: ${done.length} of its ${s.groups.length} groups did not succeed (${done.map((r) => `${r.stage}: ${r.state}`).join(', ')}): accepted as they are` : '';
    return `accepted step ${step} of ${name} (${s.review ? 'review gate' : 'no review gate'}) as ${a.by} at ${a.at}${warn}\nits dependants start on the next run: npx nx run-many -t stage --projects=tag:run:${name}\n`;
  });
}

export function report(wsRoot: string, runArg: string, o: { json?: boolean; diff?: boolean } = {}): string {
  const { run, version, rows } = reportRows(wsRoot, runArg);
  const steps = stepsOf(wsRoot, runArg).map((s) => {
    const groups = rows.filter((r) => s.groups.includes(r.stage));
    const accepted = s.review ? withRecord(wsRoot, (rec) => rec.accepted(run, s.step)) : undefined;
    return { step: s.step, groups: s.groups.length, succeeded: groups.filter((g) => g.state === 'succeeded').length, review: s.review, state: stepState(groups, s.review, accepted) };
  });
  const failed = rows.filter((r) => failedState(r.state));
  const classes: Record<string, number> = {};
  for (const f of failed) classes[f.failureClass ?? 'unclassified'] = (classes[f.failureClass ?? 'unclassified'] ?? 0) + 1;
  if (o.json) return `${JSON.stringify({ run, version, ...(steps.length ? { steps } : {}), stages: rows, totals: Object.fromEntries(STATE_COLUMNS.map(([s]) => [s, rows.filter((r) => r.state === s).length])), failureClasses: classes, expected: rows.length }, null, 2)}\n`;
  const used = STATE_COLUMNS.filter(([s]) => s === 'succeeded' || s === 'failed' || rows.some((r) => r.state === s));
  const table = new Table({ head: ['stage', ...used.map(([, h]) => h), 'EXPECTED', 'attempts', 'job', 'time'], style: { head: [], border: [], compact: true } });
  for (const r of rows) table.push([r.stage, ...used.map(([s]) => (r.state === s ? 1 : 0)), 1, r.attempts, r.jobId ?? '', r.seconds === null ? '' : formatElapsed(r.seconds)]);
  table.push(['TOTAL', ...used.map(([s]) => rows.filter((r) => r.state === s).length), rows.length, rows.reduce((n, r) => n + r.attempts, 0), '', '']);
  const lines = [`run ${run}${version ? `, version ${version}` : ''}`, table.toString()];
  if (steps.length) {
    lines.push('steps:');
    const w = Math.max(...steps.map((s) => s.step.length));
    for (const s of steps) lines.push(`  ${s.step.padEnd(w)}  ${s.succeeded}/${s.groups} groups  ${s.state.replace('<campaign> <step>', `${run} ${s.step}`)}`);
  }
  // Why a job has not started, unless it only waits for its parents.
  for (const w of rows.filter((r) => r.waitReason && !/^(None|Dependency)$/.test(r.waitReason) && (r.state === 'pending' || r.state === 'held'))) lines.push(`${w.stage}: ${w.state}${w.jobId ? ` (job ${w.jobId})` : ''}: ${w.waitReason}`);
  if (failed.length) lines.push(`failures by class: ${classCounts(failed.map((f) => f.failureClass))}`);
  for (const f of failed) lines.push(`${f.stage}: ${f.state} (${[...(f.exitCode !== null ? [`exit ${f.exitCode}`] : []), f.failureClass ?? 'unclassified'].join(', ')}): ${f.message ?? ''}${f.log ? `\n  log: ${f.log}  (campaign logs ${run} ${f.stage})` : ''}`);
  if (o.diff) lines.push(versionDiff(wsRoot, run));
  return `${lines.join('\n')}\n`;
}

/** What changed in the run's files between its last two recorded versions. */
export function versionDiff(wsRoot: string, runName: string): string {
  return withRecord(wsRoot, (rec) => {
    const v = rec.db.prepare('SELECT v.version, v.files FROM run_versions v JOIN runs r ON r.id = v.run_id WHERE r.name = ? ORDER BY v.version DESC LIMIT 2').all(runName) as { version: number; files: string }[];
    if (v.length < 2) return `run ${runName} has ${v.length} recorded version(s): nothing to compare`;
    const [now, before] = v.map((x) => JSON.parse(x.files) as Record<string, string>);
    const files = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
    const patches = files.filter((f) => before[f] !== now[f]).map((f) => createTwoFilesPatch(`${f} (version ${v[1].version})`, `${f} (version ${v[0].version})`, before[f] ?? '', now[f] ?? '', undefined, undefined, { context: 2 }));
    return patches.length ? patches.join('') : 'the last two versions have the same files';
  });
}

/** The log of a stage's latest (or n-th) attempt; for one that did not succeed, where it is and its tail. */
export function logs(wsRoot: string, runArg: string, stage: string, attempt?: number): string {
  const name = runNameArg(runArg);
  return withRecord(wsRoot, (rec) => {
    const all = rec.attempts(name).filter((a) => a.stage === stage);
    if (!all.length) throw new CampaignError(`no attempt of ${name}/${stage} is recorded\n  fix: campaign report ${name} lists its stages and their attempts`);
    const a = attempt === undefined ? all.at(-1)! : all.find((x) => x.attempt === attempt);
    if (!a) throw new CampaignError(`${name}/${stage} has attempts ${all.map((x) => x.attempt).join(', ')}, not ${attempt}`);
    const head = `${name}/${stage} attempt ${a.attempt} of ${all.length}: ${a.state}${a.exit_code !== null ? `, exit ${a.exit_code}` : ''}${a.job_id ? `, job ${a.job_id}` : ''} (${a.backend}${a.nodes ? ` on ${a.nodes}` : ''})`;
    if (!a.log_path) return `${head}\nno log: ${a.message ?? 'it never started'}\n`;
    if (!existsSync(a.log_path)) return `${head}\nlog ${a.log_path} no longer exists (removed, or archived by campaign clean)\n`;
    const text = readFileSync(a.log_path, 'utf8');
    if (a.state === 'succeeded') return `${head}\n--- ${a.log_path} ---\n${text}`;
    const lines = text.trimEnd().split('\n');
    return `${head}\n${a.message ?? ''}\nfull log (${lines.length} lines): ${a.log_path}\n--- last ${Math.min(TAIL_LINES, lines.length)} lines ---\n${lines.slice(-TAIL_LINES).join('\n')}\n`;
  });
}

/** The invocation running `runName` now, if any. */
function running(rec: CampaignRecord, runName: string): Invocation | undefined {
  const inv = rec.activeInvocation(runName);
  return inv && invocationLive(inv) ? inv : undefined;
}

/** Stop a run: its nx process (which cancels its jobs) and any job of it still queued or running. */
export async function cancel(wsRoot: string, runArg: string): Promise<string> {
  const name = runNameArg(runArg);
  const rec = openRecord(wsRoot);
  try {
    const out: string[] = [];
    const inv = running(rec, name);
    if (inv && inv.host !== hostname()) out.push(`process ${inv.pid} runs ${name} on ${inv.host}: stop it there; cancelling its jobs from here`);
    else if (inv) {
      process.kill(inv.pid, 'SIGTERM');
      out.push(`sent SIGTERM to process ${inv.pid}, which runs ${name}`);
      for (let i = 0; i < 100 && processAlive(inv.pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    const live = rec.liveAttempts(name);
    const jobs = live.filter((a) => a.backend === 'slurm' && a.job_id).map((a) => a.job_id!);
    await scancel(jobs);
    for (const a of live) rec.endAttempt(a.id, { state: 'cancelled', message: 'cancelled by campaign cancel' });
    rec.db.prepare("UPDATE invocations SET state = 'interrupted', ended_at = ? WHERE state = 'active' AND run_id = (SELECT id FROM runs WHERE name = ?)").run(new Date().toISOString(), name);
    if (jobs.length) out.push(`cancelled job(s) ${jobs.join(', ')}`);
    if (!out.length) out.push(`run ${name}: nothing running`);
    return `${out.join('\n')}\n`;
  } finally {
    rec.close();
  }
}

/** Run again what did not succeed; refuses while the run is active or when it is complete. */
export function retry(wsRoot: string, runArg: string, extraNxArgs: string[] = []): number {
  const run = loadRunArg(wsRoot, runArg);
  withRecord(wsRoot, (rec) => {
    const inv = running(rec, run.name);
    if (inv) throw new CampaignError(`run ${run.name} is still running (process ${inv.pid} on ${inv.host}, since ${inv.started_at})\n  fix: wait for it, or campaign cancel ${run.name}`);
    const last = latest(rec.attempts(run.name));
    const notDone = run.stages.filter((s) => last.get(s)?.state !== 'succeeded');
    if (!notDone.length) throw new CampaignError(`run ${run.name} is complete: every stage's latest attempt succeeded; nothing to retry`);
  });
  const nx = require.resolve('nx/bin/nx.js', { paths: [wsRoot] });
  const r = spawnSync(process.execPath, [nx, 'run-many', '--targets=stage', `--projects=tag:run:${run.name}`, '--outputStyle=static', ...extraNxArgs], { cwd: wsRoot, stdio: 'inherit' });
  return r.status ?? 1;
}

function bytesText(n: number): string {
  const [unit, f] = n >= 1e9 ? ['GB', 1e9] : n >= 1e6 ? ['MB', 1e6] : n >= 1e3 ? ['kB', 1e3] : ['bytes', 1];
  return `${f === 1 ? n : (n / f).toFixed(1)} ${unit}`;
}

/**
 * Intermediate outputs (those of stages with children in the run) whose consumers' outputs all
 * exist, and left-over in-progress files; and the logs, archived into one tar.gz. Dry run unless `yes`.
 */
export function clean(wsRoot: string, runArg: string, o: { yes?: boolean } = {}): string {
  const run = loadRunArg(wsRoot, runArg);
  const rec = CampaignRecord.openExisting(wsRoot);
  let attempted: Set<string>;
  try {
    const inv = rec && running(rec, run.name);
    if (inv) throw new CampaignError(`run ${run.name} is running (process ${inv.pid}); clean it when it has finished`);
    attempted = new Set(rec?.attempts(run.name).map((a) => a.stage) ?? []);
  } finally {
    rec?.close();
  }
  // Only what this run wrote goes: files its receipts stamp, leftovers of its own attempts, its logs.
  const dataDir = workspaceDataDir(wsRoot);
  const kept = new Set(run.stages);
  const remove: { path: string; why: string }[] = [];
  for (const stage of run.stages) {
    const inv = stageInvocation(wsRoot, run, stage);
    if (attempted.has(stage)) for (const o2 of inv.outputs) if (isFile(o2.inProgress)) remove.push({ path: o2.inProgress, why: `unfinished output of ${stage}` });
    const children = run.dag.children.get(stage)!.filter((c) => kept.has(c));
    if (!children.length) continue; // a final output
    const consumersDone = children.every((c) => stageInvocation(wsRoot, run, c).outputs.every((x) => existsSync(x.final)));
    if (!consumersDone) continue;
    const stamps = receiptStamps(dataDir, run.name, stage);
    for (const o2 of inv.outputs) if (isFile(o2.final) && stamps?.get(o2.final) === fileStamp(o2.final)) remove.push({ path: o2.final, why: `intermediate of ${stage}, used by ${children.join(', ')}` });
  }
  const logDir = absolutePath(wsRoot, run.logDir);
  const ownLogs = new Set([...run.dag.order.flatMap((s) => [`${s}.log`, `${s}.sbatch`, `${s}.exit`]), 'pre_script.log', 'post_script.log']);
  const logFiles = existsSync(logDir) ? readdirSync(logDir).filter((f) => ownLogs.has(f) && isFile(join(logDir, f))) : [];
  const archive = join(logDir, `logs-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
  const bytes = remove.reduce((n, r) => n + statSync(r.path).size, 0);
  const lines = [`run ${run.name}: ${remove.length} intermediate file(s), ${bytesText(bytes)}${o.yes ? ' removed' : ' would be removed'}:`];
  for (const r of remove) lines.push(`  ${r.path}  (${r.why})`);
  lines.push(logFiles.length ? `${logFiles.length} log file(s) in ${logDir} ${o.yes ? 'archived into' : 'would be archived into'} ${basename(archive)}` : `no logs in ${logDir}`);
  if (!o.yes) {
    lines.push('dry run: nothing changed. campaign clean --yes does it; running the run again re-makes the intermediates.');
    return `${lines.join('\n')}\n`;
  }
  if (logFiles.length) {
    execFileSync('tar', ['-czf', archive, '-C', logDir, '--', ...logFiles]);
    for (const f of logFiles) rmSync(join(logDir, f), { force: true });
  }
  for (const r of remove) rmSync(r.path, { force: true });
  return `${lines.join('\n')}\n`;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
