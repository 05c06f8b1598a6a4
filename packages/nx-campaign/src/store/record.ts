/**
 * The campaign record: one SQLite file holding every run version, invocation and attempt, so
 * status, reports, logs, retries and recovery work after the fact. WAL mode (on a local file
 * system; a rollback journal on a network one) and a busy timeout make several nx processes
 * writing at once safe; every change is one transaction, so a killed process leaves either all
 * of it or none.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import { CampaignError } from '../format/errors';
import type { Run } from '../model/run';
import type { FailureClass } from './result';

/** Where the record lives: `NX_CAMPAIGN_RECORD`, else `.campaign/record.sqlite` in the workspace. */
export function recordPath(wsRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = env.NX_CAMPAIGN_RECORD;
  return p ? (isAbsolute(p) ? p : resolve(wsRoot, p)) : join(wsRoot, '.campaign', 'record.sqlite');
}

/** BPS-style attempt states; the first four are not final. */
export const LIVE_STATES = ['submitted', 'pending', 'running', 'held'] as const;
/** `preempted`: SLURM requeued the job (preemption, `scontrol requeue`); the same job id goes on as the next attempt. */
export const FINAL_STATES = ['succeeded', 'failed', 'cancelled', 'timeout', 'out-of-memory', 'node-failure', 'pruned', 'interrupted', 'preempted'] as const;
export type AttemptState = (typeof LIVE_STATES)[number] | (typeof FINAL_STATES)[number];

const MIGRATIONS: string[] = [
  `CREATE TABLE campaigns (
     id INTEGER PRIMARY KEY,
     uid TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL UNIQUE,
     deadline_s REAL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE runs (
     id INTEGER PRIMARY KEY,
     uid TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL UNIQUE,
     campaign_id INTEGER REFERENCES campaigns(id),
     created_at TEXT NOT NULL
   );
   CREATE TABLE run_versions (
     id INTEGER PRIMARY KEY,
     run_id INTEGER NOT NULL REFERENCES runs(id),
     version INTEGER NOT NULL,
     hash TEXT NOT NULL,
     files TEXT NOT NULL,          -- JSON {path: content} of the run file, its pipelines and configs
     inputs TEXT NOT NULL,         -- JSON {tag: path}
     site TEXT,
     backend TEXT,
     user TEXT NOT NULL,
     host TEXT NOT NULL,
     created_at TEXT NOT NULL,
     UNIQUE (run_id, version)
   );
   CREATE TABLE invocations (
     id INTEGER PRIMARY KEY,
     run_id INTEGER NOT NULL REFERENCES runs(id),
     version_id INTEGER NOT NULL REFERENCES run_versions(id),
     pid INTEGER NOT NULL,
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     started_at TEXT NOT NULL,
     ended_at TEXT,
     state TEXT NOT NULL            -- active | done | failed | interrupted | lost
   );
   CREATE INDEX invocations_active ON invocations (run_id) WHERE state = 'active';
   CREATE TABLE attempts (
     id INTEGER PRIMARY KEY,
     run_id INTEGER NOT NULL REFERENCES runs(id),
     version_id INTEGER NOT NULL REFERENCES run_versions(id),
     invocation_id INTEGER NOT NULL REFERENCES invocations(id),
     stage TEXT NOT NULL,
     pipeline TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     backend TEXT NOT NULL,
     job_id TEXT,
     script TEXT,
     cores INTEGER,
     memory_mb REAL,
     walltime_s REAL,
     nodes TEXT,
     submitted_at TEXT NOT NULL,
     started_at TEXT,
     ended_at TEXT,
     state TEXT NOT NULL,
     exit_code INTEGER,
     peak_memory_mb REAL,
     seconds REAL,
     log_path TEXT,
     message TEXT,
     config_hash TEXT NOT NULL,
     UNIQUE (run_id, stage, attempt)
   );
   CREATE INDEX attempts_stage ON attempts (pipeline, stage, config_hash, state);
   CREATE TABLE stage_tuning (
     pipeline TEXT NOT NULL,
     stage TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     memory_mb REAL,
     walltime_s REAL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (pipeline, stage, config_hash)
   );`,
  // memory_mb (per node) and walltime_s are what an attempt held (plan, history, escalation); these what the stage's files ask for.
  `ALTER TABLE attempts ADD COLUMN declared_memory_mb REAL;
   ALTER TABLE attempts ADD COLUMN declared_runtime_s REAL;`,
  // A Rubin campaign's review gates: a step accepted lets its dependants start (cm-service's "accepted").
  `CREATE TABLE reviews (
     run_id INTEGER NOT NULL REFERENCES runs(id),
     step TEXT NOT NULL,
     accepted_by TEXT NOT NULL,
     accepted_at TEXT NOT NULL,
     note TEXT,
     PRIMARY KEY (run_id, step)
   );`,
  // A submit file's hash, and how the user's edit differs from its rendering (BPS).
  `ALTER TABLE attempts ADD COLUMN script_sha256 TEXT;
   ALTER TABLE attempts ADD COLUMN script_diff TEXT;`,
  // A Rubin group's input query and output collection, per submission.
  `ALTER TABLE attempts ADD COLUMN data_query TEXT;
   ALTER TABLE attempts ADD COLUMN output_collection TEXT;`,
  // Per version, every stage the run expects (name, group, parents, command, plan): the dashboard's
  // EXPECTED, DAG and planned bars without loading the run's files.
  `ALTER TABLE run_versions ADD COLUMN stages TEXT;`,
  // Per attempt, the stage's fingerprint, what it was made of, and why the attempt ran (campaign why).
  `ALTER TABLE attempts ADD COLUMN fingerprint TEXT;
   ALTER TABLE attempts ADD COLUMN fingerprint_parts TEXT;
   ALTER TABLE attempts ADD COLUMN reason TEXT;`,
  // Per attempt, the class of its failure (science, resources, infrastructure, pre-flight), and
  // while it is pending, why it waits (SLURM's reason: Priority, ReqNodeNotAvail...).
  `ALTER TABLE attempts ADD COLUMN failure_class TEXT;
   ALTER TABLE attempts ADD COLUMN wait_reason TEXT;`,
];

/** One stage of a run version as the record keeps it (run_versions.stages, JSON). */
export interface StageSummary {
  name: string;
  pipeline: string;
  /** What the overview counts it under: a Rubin campaign's step, else its pipeline. */
  group: string;
  parents: string[];
  command: string;
  /** Seconds from the run's start, and nodes, when a plan placed it. */
  planned?: { start: number; end: number; nodes: string[] };
}

export interface RunVersion {
  runId: number;
  versionId: number;
  version: number;
  /** The previous version's files when this invocation made a new version. */
  previous?: { version: number; files: Record<string, string> };
  files: Record<string, string>;
}

export interface AttemptStart {
  stage: string;
  pipeline: string;
  backend: string;
  configHash: string;
  jobId?: string;
  script?: string;
  /** The user's edit of the submit file against its rendering, as a diff. */
  scriptDiff?: string;
  /** A Rubin group's data query and output collection. */
  dataQuery?: string;
  outputCollection?: string;
  /** The stage's fingerprint and its parts (JSON), and why this attempt runs. */
  fingerprint?: string;
  fingerprintParts?: string;
  reason?: string;
  cores?: number;
  /** Per node, as this attempt holds it. */
  memoryMB?: number;
  walltimeSeconds?: number;
  /** As the stage's files declare them, before the plan, history and retries. */
  declared?: { memoryMBPerNode: number; runtimeSeconds: number };
  nodes?: string[];
  logPath?: string;
  state: AttemptState;
}

export interface FingerprintRow {
  attempt: number;
  state: AttemptState;
  exit_code: number | null;
  invocation_id: number;
  ended_at: string | null;
  fingerprint: string | null;
  fingerprint_parts: string | null;
  reason: string | null;
}

export interface AttemptEnd {
  state: AttemptState;
  exitCode?: number;
  startedAt?: string;
  endedAt?: string;
  seconds?: number;
  peakMemoryMB?: number;
  message?: string;
  failureClass?: FailureClass;
}

export interface AttemptRow {
  id: number;
  run: string;
  version: number;
  stage: string;
  pipeline: string;
  attempt: number;
  backend: string;
  job_id: string | null;
  cores: number | null;
  memory_mb: number | null;
  declared_memory_mb: number | null;
  declared_runtime_s: number | null;
  walltime_s: number | null;
  nodes: string | null;
  submitted_at: string;
  started_at: string | null;
  ended_at: string | null;
  state: AttemptState;
  exit_code: number | null;
  peak_memory_mb: number | null;
  seconds: number | null;
  log_path: string | null;
  message: string | null;
  invocation_id: number;
  failure_class: FailureClass | null;
  /** Why a pending attempt waits, as the scheduler says. */
  wait_reason: string | null;
}

const now = () => new Date().toISOString();
const uid = () => createHash('sha256').update(`${process.pid}.${Date.now()}.${Math.random()}`).digest('hex').slice(0, 12);

/** The files a run is made of, workspace-relative path -> content, as submitted. */
export function runFiles(wsRoot: string, run: Run): Record<string, string> {
  const files = [run.file, ...run.pipelines.flatMap((p) => [p.file, join(dirname(p.file), 'config.yaml')])];
  const out: Record<string, string> = {};
  for (const f of [...new Set(files)].sort()) {
    const abs = resolve(wsRoot, f);
    if (existsSync(abs)) out[f] = readFileSync(abs, 'utf8');
  }
  return out;
}

/** Identity of a stage's configuration for tuning and measured runtimes: its command and config, not its inputs' dates. */
export function configHash(run: Run, stage: string): string {
  const s = run.dag.stages.get(stage)!;
  return createHash('sha256').update(JSON.stringify({ argv: s.argv, config: s.config, env: s.env })).digest('hex').slice(0, 16);
}

/**
 * Whether process `pid` runs on this host (EPERM: it does, under another user). A zombie does
 * not: a killed nx's executor stays one where nothing reaps it (a container whose init does not).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return !existsSync('/proc/self/stat'); // gone since kill(0); without /proc (macOS) kill(0) is all there is
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
}

export interface Invocation {
  id: number;
  pid: number;
  host: string;
  user: string;
  started_at: string;
}

/** Whether an active invocation's process still runs; one on another host cannot be checked, so it is taken to. */
export function invocationLive(inv: Invocation): boolean {
  return inv.host !== hostname() || processAlive(inv.pid);
}

/** statfs type numbers of network and cluster file systems (Linux magic numbers). */
const NETWORK_FILE_SYSTEMS: Record<number, string> = {
  0x6969: 'NFS',
  0x0bd00bd0: 'Lustre',
  0x47504653: 'GPFS',
  0xff534d42: 'CIFS',
  0xfe534d42: 'SMB2',
  0x517b: 'SMB',
  0x19830326: 'BeeGFS',
  0x00c36400: 'CephFS',
  0xaad7aaea: 'PanFS',
  0x65735546: 'FUSE',
};

/**
 * How the record journals its writes. WAL shares memory between the processes that write, which a
 * network file system (where HPC workspaces live) does not give across nodes: it corrupts the
 * file there. So a record on one uses a rollback journal; NX_CAMPAIGN_RECORD_JOURNAL (wal or
 * delete) overrides what the file system says.
 */
export function journalMode(dir: string, env: NodeJS.ProcessEnv = process.env, statfs: (path: string) => { type: number } = statfsSync): { mode: 'wal' | 'delete'; why: string } {
  const asked = env.NX_CAMPAIGN_RECORD_JOURNAL?.toLowerCase();
  if (asked === 'wal' || asked === 'delete') return { mode: asked, why: 'NX_CAMPAIGN_RECORD_JOURNAL' };
  if (asked) throw new CampaignError(`NX_CAMPAIGN_RECORD_JOURNAL=${asked}: not a journal mode\n  fix: set it to wal or delete, or unset it`);
  let type: number;
  try {
    type = statfs(dir).type;
  } catch {
    return { mode: 'delete', why: 'the file system could not be asked' };
  }
  const network = NETWORK_FILE_SYSTEMS[type];
  return network ? { mode: 'delete', why: `${network} file system` } : { mode: 'wal', why: 'local file system' };
}

/**
 * The record's own folder, when it is `.campaign/`, says it is not source: a `.gitignore` of `*`
 * (git and Nx's file watcher honour it), so that the daemon does not re-hash the workspace at
 * every attempt the record writes.
 */
function ignoreFolder(dir: string): void {
  if (basename(dir) !== '.campaign') return;
  const file = join(dir, '.gitignore');
  if (!existsSync(file)) writeFileSync(file, '# the campaign record (nx-campaign): not source\n*\n');
}

/** Seconds a write waits for another process's lock on the record (NX_CAMPAIGN_RECORD_TIMEOUT, default 30). */
export function busyTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.NX_CAMPAIGN_RECORD_TIMEOUT);
  return Number.isFinite(n) && n > 0 ? n : 30;
}

/** The record stayed locked by another process beyond the busy timeout: nothing more can be recorded by this one. */
export class RecordBusy extends CampaignError {}

/** `e` as RecordBusy when it is SQLite's "database is locked", else undefined. */
export function asRecordBusy(e: unknown, path: string, env: NodeJS.ProcessEnv = process.env): RecordBusy | undefined {
  if (e instanceof RecordBusy) return e;
  if ((e as { code?: string })?.code !== 'SQLITE_BUSY') return undefined;
  return new RecordBusy(`${path} stayed locked by another process for more than ${busyTimeoutSeconds(env)} s (NX_CAMPAIGN_RECORD_TIMEOUT): this invocation stopped following its runs and left their SLURM jobs running\n  fix: run the same command again once that process is done; it re-attaches to the jobs`);
}

export class CampaignRecord {
  readonly db: Database.Database;
  readonly journal: { mode: 'wal' | 'delete'; why: string };

  private constructor(readonly path: string, env: NodeJS.ProcessEnv) {
    mkdirSync(dirname(path), { recursive: true });
    ignoreFolder(dirname(path));
    this.journal = journalMode(dirname(path), env);
    this.db = new Database(path, { timeout: busyTimeoutSeconds(env) * 1000 });
    this.db.pragma(`journal_mode = ${this.journal.mode === 'wal' ? 'WAL' : 'DELETE'}`);
    // With a rollback journal, NORMAL could lose the last transactions on a crash: FULL syncs each.
    this.db.pragma(`synchronous = ${this.journal.mode === 'wal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  static open(wsRoot: string, env: NodeJS.ProcessEnv = process.env): CampaignRecord {
    return new CampaignRecord(recordPath(wsRoot, env), env);
  }

  /** Opens an existing record only; undefined when nothing was ever recorded. */
  static openExisting(wsRoot: string, env: NodeJS.ProcessEnv = process.env): CampaignRecord | undefined {
    const p = recordPath(wsRoot, env);
    return existsSync(p) ? new CampaignRecord(p, env) : undefined;
  }

  close(): void {
    this.db.close();
  }

  private readonly statements = new Map<string, Statement>();

  /** A prepared statement, made once per SQL text (preparing costs about as much as a small write). */
  private stmt(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private migrate(): void {
    const at = this.db.pragma('user_version', { simple: true }) as number;
    if (at > MIGRATIONS.length) throw new CampaignError(`${this.path} was written by a newer nx-campaign (schema ${at}, this one knows ${MIGRATIONS.length})\n  fix: upgrade nx-campaign`);
    if (at === MIGRATIONS.length) return;
    this.db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const from = this.db.pragma('user_version', { simple: true }) as number;
      for (let i = from; i < MIGRATIONS.length; i++) this.db.exec(MIGRATIONS[i]);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }

  /**
   * Start an invocation of `run`: its current files become a new version when they differ from
   * the last one. Refuses while another live process has the same run active; an active
   * invocation whose process is gone is marked lost (its attempts are recovered by the caller).
   */
  beginInvocation(run: Run, files: Record<string, string>, meta: { site?: string; backend: string; stages?: StageSummary[] }): RunVersion & { invocationId: number; lost: number[] } {
    return this.db.transaction(() => {
      let runRow = this.stmt('SELECT id FROM runs WHERE name = ?').get(run.name) as { id: number } | undefined;
      if (!runRow) runRow = { id: Number(this.stmt('INSERT INTO runs (uid, name, created_at) VALUES (?, ?, ?)').run(uid(), run.name, now()).lastInsertRowid) };
      const runId = runRow.id;
      const lost: number[] = [];
      const host = hostname();
      for (const inv of this.stmt("SELECT id, pid, host, user, started_at FROM invocations WHERE run_id = ? AND state = 'active'").all(runId) as Invocation[]) {
        if (invocationLive(inv)) {
          throw new CampaignError(`run ${run.name} is already being run by process ${inv.pid} on ${inv.host} (user ${inv.user}, since ${inv.started_at})\n  fix: wait for it, or stop it (campaign cancel ${run.file} cancels its jobs)`);
        }
        this.stmt("UPDATE invocations SET state = 'lost', ended_at = ? WHERE id = ?").run(now(), inv.id);
        lost.push(inv.id);
      }
      const hash = createHash('sha256').update(JSON.stringify(files)).digest('hex');
      const last = this.stmt('SELECT id, version, hash, files FROM run_versions WHERE run_id = ? ORDER BY version DESC LIMIT 1').get(runId) as { id: number; version: number; hash: string; files: string } | undefined;
      let versionId: number;
      let version: number;
      let previous: RunVersion['previous'];
      const stages = meta.stages ? JSON.stringify(meta.stages) : null;
      if (last && last.hash === hash) {
        versionId = last.id;
        version = last.version;
        // The same files, planned again (another site or backend): the latest summary stands.
        if (stages) this.stmt('UPDATE run_versions SET stages = ? WHERE id = ?').run(stages, versionId);
      } else {
        version = (last?.version ?? 0) + 1;
        versionId = Number(
          this.stmt('INSERT INTO run_versions (run_id, version, hash, files, inputs, site, backend, user, host, created_at, stages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .run(runId, version, hash, JSON.stringify(files), JSON.stringify(run.inputs), meta.site ?? null, meta.backend, userInfo().username, host, now(), stages).lastInsertRowid,
        );
        if (last) previous = { version: last.version, files: JSON.parse(last.files) as Record<string, string> };
      }
      const invocationId = Number(
        this.stmt("INSERT INTO invocations (run_id, version_id, pid, host, user, started_at, state) VALUES (?, ?, ?, ?, ?, ?, 'active')").run(runId, versionId, process.pid, host, userInfo().username, now()).lastInsertRowid,
      );
      return { runId, versionId, version, previous, files, invocationId, lost };
    }).immediate();
  }

  endInvocation(invocationId: number, state: 'done' | 'failed' | 'interrupted'): void {
    this.stmt('UPDATE invocations SET state = ?, ended_at = ? WHERE id = ?').run(state, now(), invocationId);
  }

  /** A new attempt of a stage (attempt numbers count up per run and stage). Returns its id. */
  startAttempt(v: { runId: number; versionId: number; invocationId: number }, a: AttemptStart): number {
    return this.db.transaction(() => {
      const n = (this.stmt('SELECT COALESCE(MAX(attempt), 0) AS n FROM attempts WHERE run_id = ? AND stage = ?').get(v.runId, a.stage) as { n: number }).n + 1;
      return Number(
        this.stmt(
            `INSERT INTO attempts (run_id, version_id, invocation_id, stage, pipeline, attempt, backend, job_id, script, script_sha256, script_diff, data_query, output_collection, cores, memory_mb, walltime_s, declared_memory_mb, declared_runtime_s, nodes, submitted_at, state, log_path, config_hash, fingerprint, fingerprint_parts, reason)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(v.runId, v.versionId, v.invocationId, a.stage, a.pipeline, n, a.backend, a.jobId ?? null, a.script ?? null, a.script === undefined ? null : createHash('sha256').update(a.script).digest('hex'), a.scriptDiff ?? null, a.dataQuery ?? null, a.outputCollection ?? null, a.cores ?? null, a.memoryMB ?? null, a.walltimeSeconds ?? null, a.declared?.memoryMBPerNode ?? null, a.declared?.runtimeSeconds ?? null, a.nodes?.join(',') ?? null, now(), a.state, a.logPath ?? null, a.configHash, a.fingerprint ?? null, a.fingerprintParts ?? null, a.reason ?? null).lastInsertRowid,
      );
    }).immediate();
  }

  /**
   * A live attempt's new state; `nodes`: SLURM's host list once it runs; `reason`: why it waits.
   * Without a reason, a waiting state keeps the last one and running clears it.
   */
  setAttemptState(id: number, state: AttemptState, nodes?: string, reason?: string): void {
    const waiting = state === 'submitted' || state === 'pending' || state === 'held';
    this.stmt('UPDATE attempts SET state = ?, started_at = COALESCE(started_at, ?), nodes = COALESCE(?, nodes), wait_reason = CASE WHEN ? IS NOT NULL THEN ? WHEN ? THEN wait_reason END WHERE id = ?')
      .run(state, state === 'running' ? now() : null, nodes ?? null, reason ?? null, reason ?? null, waiting ? 1 : 0, id);
  }

  endAttempt(id: number, e: AttemptEnd): void {
    this.stmt('UPDATE attempts SET state = ?, exit_code = ?, started_at = COALESCE(?, started_at), ended_at = ?, seconds = ?, peak_memory_mb = COALESCE(?, peak_memory_mb), message = ?, failure_class = ?, wait_reason = NULL WHERE id = ?')
      .run(e.state, e.exitCode ?? null, e.startedAt ?? null, e.endedAt ?? now(), e.seconds ?? null, e.peakMemoryMB ?? null, e.message ?? null, e.failureClass ?? null, id);
  }

  /** The latest invocation of `runName` still marked active (its process may be gone). */
  activeInvocation(runName: string): Invocation | undefined {
    return this.stmt("SELECT i.id, i.pid, i.host, i.user, i.started_at FROM invocations i JOIN runs r ON r.id = i.run_id WHERE r.name = ? AND i.state = 'active' ORDER BY i.id DESC LIMIT 1").get(runName) as Invocation | undefined;
  }

  /** Attempts of `run` still pending or running when their invocation ended or was lost. */
  liveAttempts(runName: string): AttemptRow[] {
    return this.stmt(`${ATTEMPTS} WHERE r.name = ? AND a.state IN (${LIVE_STATES.map(() => '?').join(',')}) ORDER BY a.id`).all(runName, ...LIVE_STATES) as AttemptRow[];
  }

  jobIds(runName: string): Set<string> {
    const rows = this.stmt('SELECT DISTINCT a.job_id FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? AND a.job_id IS NOT NULL').pluck().all(runName) as string[];
    return new Set(rows);
  }

  attempts(runName: string): AttemptRow[] {
    return this.stmt(`${ATTEMPTS} WHERE r.name = ? ORDER BY a.id`).all(runName) as AttemptRow[];
  }

  /** The stage's latest attempt, and its latest succeeded one, with what their fingerprints were made of. */
  fingerprintHistory(runName: string, stage: string): { last?: FingerprintRow; succeeded?: FingerprintRow } {
    const q = (extra: string) => this.stmt(`SELECT a.attempt, a.state, a.exit_code, a.invocation_id, a.ended_at, a.fingerprint, a.fingerprint_parts, a.reason FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? AND a.stage = ? ${extra} ORDER BY a.attempt DESC LIMIT 1`).get(runName, stage) as FingerprintRow | undefined;
    return { last: q(''), succeeded: q("AND a.state = 'succeeded'") };
  }

  /** Who accepted step `step` of `runName`, and when; undefined while it is not. */
  accepted(runName: string, step: string): { by: string; at: string } | undefined {
    const row = this.stmt('SELECT v.accepted_by AS by, v.accepted_at AS at FROM reviews v JOIN runs r ON r.id = v.run_id WHERE r.name = ? AND v.step = ?').get(runName, step) as { by: string; at: string } | undefined;
    return row;
  }

  /** Accept a reviewed step (again: the latest acceptance stands). The run must have been recorded. */
  accept(runName: string, step: string, by: string, note?: string): { by: string; at: string } {
    const run = this.stmt('SELECT id FROM runs WHERE name = ?').get(runName) as { id: number } | undefined;
    if (!run) throw new CampaignError(`${runName} has not run yet: there is nothing to accept\n  fix: run it first (npx nx run-many -t stage --projects=tag:run:${runName})`);
    const at = now();
    this.stmt('INSERT INTO reviews (run_id, step, accepted_by, accepted_at, note) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, step) DO UPDATE SET accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at, note = excluded.note').run(run.id, step, by, at, note ?? null);
    return { by, at };
  }

  /** Memory and walltime a stage's earlier failures escalated to, kept for its later runs. */
  tuning(pipeline: string, stage: string, hash: string): { memoryMB?: number; walltimeSeconds?: number } {
    const row = this.stmt('SELECT memory_mb, walltime_s FROM stage_tuning WHERE pipeline = ? AND stage = ? AND config_hash = ?').get(pipeline, stage, hash) as { memory_mb: number | null; walltime_s: number | null } | undefined;
    return { memoryMB: row?.memory_mb ?? undefined, walltimeSeconds: row?.walltime_s ?? undefined };
  }

  setTuning(pipeline: string, stage: string, hash: string, t: { memoryMB?: number; walltimeSeconds?: number }): void {
    this.stmt(
        `INSERT INTO stage_tuning (pipeline, stage, config_hash, memory_mb, walltime_s, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (pipeline, stage, config_hash) DO UPDATE SET memory_mb = COALESCE(excluded.memory_mb, memory_mb), walltime_s = COALESCE(excluded.walltime_s, walltime_s), updated_at = excluded.updated_at`,
      )
      .run(pipeline, stage, hash, t.memoryMB ?? null, t.walltimeSeconds ?? null, now());
  }

  /** Median runtime and peak memory of the last `n` successful attempts of a stage and configuration. */
  measured(pipeline: string, stage: string, hash: string, n = 5): { seconds?: number; peakMemoryMB?: number; samples: number } {
    const rows = this.stmt("SELECT seconds, peak_memory_mb FROM attempts WHERE pipeline = ? AND stage = ? AND config_hash = ? AND state = 'succeeded' AND seconds IS NOT NULL ORDER BY id DESC LIMIT ?")
      .all(pipeline, stage, hash, n) as { seconds: number; peak_memory_mb: number | null }[];
    const median = (xs: number[]) => {
      if (!xs.length) return undefined;
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    return { seconds: median(rows.map((r) => r.seconds)), peakMemoryMB: median(rows.flatMap((r) => (r.peak_memory_mb === null ? [] : [r.peak_memory_mb]))), samples: rows.length };
  }
}

/** The record read-only, brought to this schema first (and made, if there is none): what the views read. */
export function readOnlyRecord(wsRoot: string, env: NodeJS.ProcessEnv = process.env): Database.Database {
  CampaignRecord.open(wsRoot, env).close();
  return new Database(recordPath(wsRoot, env), { readonly: true, fileMustExist: true, timeout: 5000 });
}

const ATTEMPTS = `SELECT a.id, r.name AS run, v.version, a.stage, a.pipeline, a.attempt, a.backend, a.job_id, a.cores, a.memory_mb, a.walltime_s, a.declared_memory_mb, a.declared_runtime_s, a.nodes,
  a.submitted_at, a.started_at, a.ended_at, a.state, a.exit_code, a.peak_memory_mb, a.seconds, a.log_path, a.message, a.invocation_id, a.failure_class, a.wait_reason
  FROM attempts a JOIN runs r ON r.id = a.run_id JOIN run_versions v ON v.id = a.version_id`;
