/**
 * Read-only views of the record for the dashboard and `campaign watch`: runs with their state
 * counts, one run's counts per group (a Rubin step, else a pipeline), its stages a page at a time,
 * its failures grouped by cause. Counts are aggregated in SQL over each stage's latest attempt, so
 * a run of 10,000 stages costs one indexed pass; the expected stages come from the version's
 * stage summaries (run_versions.stages), not from loading the run's files.
 */
import type Database from 'better-sqlite3';
import { FINAL_STATES, LIVE_STATES, type AttemptRow, type AttemptState, type StageSummary } from './record';
import type { FailureClass } from './result';
import { FILE_SYSTEM_FULL } from '../util/disk';

/** The bps-report columns, in order; `unready`: expected, never attempted. */
export const STATE_COLUMNS: [AttemptState | 'unready', string][] = [
  ['unready', 'UNREADY'],
  ['submitted', 'SUBMITTED'],
  ['pending', 'PENDING'],
  ['running', 'RUNNING'],
  ['held', 'HELD'],
  ['succeeded', 'SUCCEEDED'],
  ['failed', 'FAILED'],
  ['timeout', 'TIMEOUT'],
  ['out-of-memory', 'OOM'],
  ['node-failure', 'NODE_FAIL'],
  ['preempted', 'PREEMPTED'],
  ['cancelled', 'CANCELLED'],
  ['interrupted', 'INTERRUPTED'],
  ['pruned', 'PRUNED'],
];

export type Counts = Partial<Record<AttemptState | 'unready', number>>;

export interface RunSummary {
  name: string;
  uid: string;
  campaign: string | null;
  version: number;
  site: string | null;
  backend: string | null;
  /** The latest invocation's: active | done | failed | interrupted | lost. */
  state: string;
  pid: number;
  host: string;
  user: string;
  startedAt: string;
  endedAt: string | null;
  expected: number;
  counts: Counts;
}

/** Each stage's latest attempt, of one run (`?` = run id) or of all. */
const LATEST = (where: string) => `SELECT a.* FROM attempts a JOIN (SELECT run_id, stage, MAX(attempt) AS n FROM attempts ${where} GROUP BY run_id, stage) l
  ON l.run_id = a.run_id AND l.stage = a.stage AND l.n = a.attempt`;

export interface RunFilter {
  /** Show runs of any age, not only active ones and those started in the last `sinceSeconds`. */
  all?: boolean;
  sinceSeconds?: number;
  site?: string;
}

const WEEK = 7 * 86400;

/** Running and recent runs, running first then newest; `hidden`: how many the filter left out. */
export function listRuns(db: Database.Database, f: RunFilter = {}): { runs: RunSummary[]; hidden: number } {
  const rows = db
    .prepare(
      `SELECT r.id, r.name, r.uid, c.name AS campaign, v.version, v.site, v.backend, i.state, i.pid, i.host, i.user, i.started_at AS startedAt, i.ended_at AS endedAt,
         COALESCE(json_array_length(v.stages), (SELECT COUNT(DISTINCT stage) FROM attempts WHERE run_id = r.id)) AS expected
       FROM invocations i JOIN runs r ON r.id = i.run_id JOIN run_versions v ON v.id = i.version_id LEFT JOIN campaigns c ON c.id = r.campaign_id
       WHERE i.id IN (SELECT MAX(id) FROM invocations GROUP BY run_id)
       ORDER BY i.state = 'active' DESC, i.started_at DESC`,
    )
    .all() as (Omit<RunSummary, 'counts'> & { id: number })[];
  const since = Date.now() - (f.sinceSeconds ?? WEEK) * 1000;
  const shown = rows.filter((r) => (f.all || r.state === 'active' || Date.parse(r.startedAt) >= since) && (!f.site || r.site === f.site));
  const counts = new Map<number, Counts>();
  for (const c of db.prepare(`SELECT run_id, state, COUNT(*) AS n FROM (${LATEST('')}) GROUP BY run_id, state`).all() as { run_id: number; state: AttemptState; n: number }[]) {
    const m = counts.get(c.run_id) ?? {};
    m[c.state] = c.n;
    counts.set(c.run_id, m);
  }
  const runs = shown.map(({ id, ...r }) => {
    const m = { ...(counts.get(id) ?? {}) };
    const attempted = Object.values(m).reduce((a, b) => a + (b ?? 0), 0);
    if (r.expected > attempted) m.unready = r.expected - attempted;
    return { ...r, counts: m };
  });
  return { runs, hidden: rows.length - shown.length };
}

export interface GroupRow {
  group: string;
  expected: number;
  counts: Counts;
}

/** `unclassified`: recorded before failure classes were (schema 8). */
export interface ClassCount {
  failureClass: FailureClass | 'unclassified';
  count: number;
}

function classCounts(attempts: AttemptRow[]): ClassCount[] {
  const n = new Map<ClassCount['failureClass'], number>();
  for (const a of attempts) n.set(a.failure_class ?? 'unclassified', (n.get(a.failure_class ?? 'unclassified') ?? 0) + 1);
  return [...n].map(([failureClass, count]) => ({ failureClass, count })).sort((a, b) => b.count - a.count);
}

export type FailureCause = 'out of memory' | 'timeout' | 'node failure' | 'preempted' | 'file system full' | 'pre-flight' | 'missing outputs' | 'cancelled' | 'interrupted' | `exit code ${number}` | 'failed';

export interface RunOverview {
  run: RunSummary;
  stages: StageSummary[];
  groups: GroupRow[];
  total: GroupRow;
  /** Failed latest attempts by cause, largest first; `classes`: how many of each failure class; `attempts`: the first few. */
  failures: { cause: FailureCause; count: number; classes: ClassCount[]; attempts: AttemptRow[] }[];
  /** Failed latest attempts per failure class, most first. */
  failureClasses: ClassCount[];
  running: AttemptRow[];
}

const ATTEMPT_COLUMNS = `a.id, r.name AS run, v.version, a.stage, a.pipeline, a.attempt, a.backend, a.job_id, a.cores, a.memory_mb, a.walltime_s, a.declared_memory_mb, a.declared_runtime_s, a.nodes,
  a.submitted_at, a.started_at, a.ended_at, a.state, a.exit_code, a.peak_memory_mb, a.seconds, a.log_path, a.message, a.invocation_id, a.failure_class, a.wait_reason`;

/** Why an attempt did not succeed, as the dashboard groups failures. */
export function failureCause(a: Pick<AttemptRow, 'state' | 'exit_code' | 'message'>): FailureCause {
  if (a.state === 'out-of-memory') return 'out of memory';
  if (a.state === 'timeout') return 'timeout';
  if (a.state === 'node-failure') return 'node failure';
  if (a.state === 'preempted') return 'preempted';
  if (a.message?.startsWith(FILE_SYSTEM_FULL)) return 'file system full';
  if (a.state === 'cancelled') return 'cancelled';
  if (a.state === 'interrupted') return 'interrupted';
  if (a.message?.includes('pre-flight')) return 'pre-flight';
  if (a.message && /\bmissing\b|outputs? (?:not|were not|was not)/.test(a.message)) return 'missing outputs';
  if (a.exit_code !== null && a.exit_code !== 0) return `exit code ${a.exit_code}`;
  return 'failed';
}

const FAILED: string[] = FINAL_STATES.filter((s) => s !== 'succeeded' && s !== 'pruned');

/** The run's id, latest version's stage summaries and summary row; undefined when not recorded. */
export function runOverview(db: Database.Database, name: string, examples = 3): RunOverview | undefined {
  const run = listRuns(db, { all: true }).runs.find((r) => r.name === name);
  if (!run) return undefined;
  const { id, stages } = db.prepare('SELECT r.id, (SELECT stages FROM run_versions WHERE run_id = r.id ORDER BY version DESC LIMIT 1) AS stages FROM runs r WHERE r.name = ?').get(name) as { id: number; stages: string | null };
  const summaries = stages ? (JSON.parse(stages) as StageSummary[]) : [];
  const latest = db.prepare(`SELECT l.stage, l.state, l.pipeline FROM (${LATEST('WHERE run_id = ?')}) l`).all(id) as { stage: string; state: AttemptState; pipeline: string }[];
  const groupOf = new Map(summaries.map((s) => [s.name, s.group]));
  const rows = new Map<string, GroupRow>();
  const row = (g: string) => rows.get(g) ?? rows.set(g, { group: g, expected: 0, counts: {} }).get(g)!;
  for (const s of summaries) row(s.group).expected++;
  const seen = new Set<string>();
  for (const l of latest) {
    seen.add(l.stage);
    const r = row(groupOf.get(l.stage) ?? l.pipeline);
    r.counts[l.state] = (r.counts[l.state] ?? 0) + 1;
    if (!groupOf.has(l.stage)) r.expected++; // recorded, no longer in the run's files
  }
  for (const s of summaries) if (!seen.has(s.name)) row(s.group).counts.unready = (row(s.group).counts.unready ?? 0) + 1;
  const groups = [...rows.values()];
  const total: GroupRow = { group: 'TOTAL', expected: groups.reduce((n, g) => n + g.expected, 0), counts: {} };
  for (const g of groups) for (const [k, v] of Object.entries(g.counts)) total.counts[k as AttemptState] = (total.counts[k as AttemptState] ?? 0) + (v ?? 0);
  const failed = db.prepare(`SELECT ${ATTEMPT_COLUMNS} FROM (${LATEST('WHERE run_id = ?')}) a JOIN runs r ON r.id = a.run_id JOIN run_versions v ON v.id = a.version_id WHERE a.state IN (${FAILED.map(() => '?').join(',')}) ORDER BY a.ended_at`).all(id, ...FAILED) as AttemptRow[];
  const byCause = new Map<FailureCause, AttemptRow[]>();
  for (const a of failed) {
    const c = failureCause(a);
    byCause.set(c, [...(byCause.get(c) ?? []), a]);
  }
  const failures = [...byCause].map(([cause, list]) => ({ cause, count: list.length, classes: classCounts(list), attempts: list.slice(0, examples) })).sort((a, b) => b.count - a.count);
  const running = db.prepare(`SELECT ${ATTEMPT_COLUMNS} FROM attempts a JOIN runs r ON r.id = a.run_id JOIN run_versions v ON v.id = a.version_id WHERE a.run_id = ? AND a.state IN (${LIVE_STATES.map(() => '?').join(',')}) ORDER BY a.submitted_at LIMIT 50`).all(id, ...LIVE_STATES) as AttemptRow[];
  return { run, stages: summaries, groups, total, failures, failureClasses: classCounts(failed), running };
}

export interface StageRow {
  stage: string;
  group: string;
  state: AttemptState | 'unready';
  attempts: number;
  jobId: string | null;
  startedAt: string | null;
  endedAt: string | null;
  seconds: number | null;
}

/** Every stage of a run with its latest attempt, in the run's order. */
export function stageRows(db: Database.Database, o: RunOverview): StageRow[] {
  const { id } = db.prepare('SELECT id FROM runs WHERE name = ?').get(o.run.name) as { id: number };
  const latest = new Map(
    (db.prepare(`SELECT l.stage, l.state, l.attempt, l.job_id, l.started_at, l.ended_at, l.seconds FROM (${LATEST('WHERE run_id = ?')}) l`).all(id) as { stage: string; state: AttemptState; attempt: number; job_id: string | null; started_at: string | null; ended_at: string | null; seconds: number | null }[]).map((l) => [l.stage, l]),
  );
  const names = o.stages.length ? o.stages.map((s) => ({ name: s.name, group: s.group })) : [...latest.keys()].map((n) => ({ name: n, group: '' }));
  return names.map(({ name, group }): StageRow => {
    const l = latest.get(name);
    return { stage: name, group, state: l?.state ?? 'unready', attempts: l?.attempt ?? 0, jobId: l?.job_id ?? null, startedAt: l?.started_at ?? null, endedAt: l?.ended_at ?? null, seconds: l?.seconds ?? null };
  });
}

/** A page of those rows; `state` filters; `total`: how many the filter keeps. */
export function stagePage(rows: StageRow[], page: { offset: number; limit: number; state?: string }): { rows: StageRow[]; total: number } {
  const kept = page.state ? rows.filter((r) => r.state === page.state) : rows;
  return { rows: kept.slice(page.offset, page.offset + page.limit), total: kept.length };
}

export interface AttemptDetail extends AttemptRow {
  /** Why the attempt ran (campaign why). */
  reason: string | null;
  script: string | null;
  script_diff: string | null;
  data_query: string | null;
  output_collection: string | null;
}

/** Every attempt of one stage, first to last. */
export function stageAttempts(db: Database.Database, run: string, stage: string): AttemptDetail[] {
  return db.prepare(`SELECT ${ATTEMPT_COLUMNS}, a.reason, a.script, a.script_diff, a.data_query, a.output_collection FROM attempts a JOIN runs r ON r.id = a.run_id JOIN run_versions v ON v.id = a.version_id WHERE r.name = ? AND a.stage = ? ORDER BY a.attempt`).all(run, stage) as AttemptDetail[];
}

/** The log path the record holds for attempt `n` of a stage: the only paths the dashboard reads. */
export function attemptLogPath(db: Database.Database, run: string, stage: string, n: number): string | undefined {
  const row = db.prepare('SELECT a.log_path FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? AND a.stage = ? AND a.attempt = ?').get(run, stage, n) as { log_path: string | null } | undefined;
  return row?.log_path ?? undefined;
}
