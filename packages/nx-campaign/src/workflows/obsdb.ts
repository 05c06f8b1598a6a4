/**
 * Observations, as socm reads them: a context YAML whose `obsdb` entry names an SQLite file
 * with an `obs` table in sotodlib's layout; a query is an SQL condition on that table or a
 * `file://` list of obs ids. The database is opened read-only: no query can change it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CampaignError, ConfigError } from '../format/errors';
import { parseYaml } from '../format/yaml-file';
import { checkCondition } from './query';

export interface Observation {
  obs_id: string;
  /** Start, Unix seconds. */
  timestamp: number;
  az_center: number;
  el_center: number;
  pwv: number;
  /** From `wafer_slots_list`, a comma-separated string. */
  wafers: string[];
  tube_slot: string;
  n_samples: number;
}

/** `file://x` -> x made absolute against `base`; other values as they are. */
export function filePath(value: string, base: string): string {
  if (!value.startsWith('file://')) return value;
  const p = value.slice('file://'.length);
  return isAbsolute(p) ? p : resolve(base, p);
}

/** The context or obsdb file is not on this machine (a cluster path, say): the caller decides how bad that is. */
export class MissingObsdb extends CampaignError {
  override name = 'MissingObsdb';
}

/** A workflow's `context` value (`file://x`, or a bare path as socm also takes) as an absolute file. */
export function contextPath(value: string, base: string): string {
  return filePath(value.startsWith('file://') ? value : `file://${value}`, base);
}

/** The obsdb a context YAML names (relative to the context file), whether it exists or not. */
function namedObsdb(contextFile: string): string {
  let ctx: { obsdb?: unknown } | null;
  try {
    // As every YAML file here: an alias bomb or a syntax error is a problem at its line.
    ctx = parseYaml(readFileSync(contextFile, 'utf8'), contextFile).data as { obsdb?: unknown } | null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const p = e.problems[0];
    throw new CampaignError(`context ${contextFile} is not YAML${p.line ? ` (line ${p.line})` : ''}: ${p.message.replace(/^invalid YAML: /, '')}\n  fix: ${p.fix ?? "name sotodlib's context YAML"}`);
  }
  if (!ctx || typeof ctx !== 'object' || typeof ctx.obsdb !== 'string') throw new CampaignError(`context ${contextFile} has no obsdb entry (the SQLite file of observations)\n  fix: give the context "obsdb: <file>", the obs database sotodlib writes`);
  return isAbsolute(ctx.obsdb) ? ctx.obsdb : resolve(dirname(contextFile), ctx.obsdb);
}

/** The obsdb a context YAML names, whether or not it exists; undefined when the context cannot tell. */
export function obsdbNamedBy(contextFile: string): string | undefined {
  try {
    return namedObsdb(contextFile);
  } catch {
    return undefined;
  }
}

/** The obsdb file a context YAML names; MissingObsdb when the context or the obsdb is not here. */
export function obsdbOf(contextFile: string): string {
  if (!existsSync(contextFile)) throw new MissingObsdb(`context ${contextFile} does not exist`);
  if (!statSync(contextFile).isFile()) throw new CampaignError(`context ${contextFile} is not a file\n  fix: name sotodlib's context YAML`);
  const db = namedObsdb(contextFile);
  if (!existsSync(db)) throw new MissingObsdb(`obsdb ${db} (named by ${contextFile}) does not exist`);
  if (!statSync(db).isFile()) throw new CampaignError(`obsdb ${db} (named by ${contextFile}) is not a file\n  fix: point the context's obsdb at an SQLite file`);
  return db;
}

export interface Selection {
  /** In obs_id order, as sotodlib's `select obs.* from obs where <query> ORDER BY obs_id` returns them. */
  observations: Observation[];
  /** Ids of a `file://` list that the obsdb does not have (socm drops them silently). */
  notFound: string[];
}

/** The columns a workflow reads, beyond obs_id; each must exist, with values of its type. */
export type ObsColumn = 'timestamp' | 'az_center' | 'el_center' | 'pwv' | 'wafer_slots_list' | 'tube_slot' | 'n_samples';
const NUMERIC: ObsColumn[] = ['timestamp', 'az_center', 'el_center', 'pwv', 'n_samples'];

/** What an obs id in a `file://` list may look like (they reach messages and files). */
const OBS_ID = /^[A-Za-z0-9._:+-]{1,200}$/;
/** A wafer name in `wafer_slots_list` (socm's split labels and --wafer= values are made of them). */
const WAFER = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * The observations a query selects: an SQL condition on `obs` ("1" for all; see query.ts for
 * what a condition may hold), or `file://<list>` of obs ids, one per line, which socm turns into
 * `obs_id IN (...)` (`base` resolves a relative list path). `columns` are those the caller reads:
 * each must be a column of `obs`, and numeric ones must hold numbers.
 */
export function selectObservations(contextFile: string, query: string, base: string, columns: ObsColumn[] = NUMERIC): Selection {
  const dbFile = obsdbOf(contextFile);
  let db: Database.Database;
  try {
    db = new Database(dbFile, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new CampaignError(`obsdb ${dbFile} cannot be opened: ${(e as Error).message}\n  fix: point the context's obsdb at an SQLite file`);
  }
  try {
    let have: string[];
    try {
      have = (db.prepare('PRAGMA table_info(obs)').all() as { name: string }[]).map((c) => c.name);
    } catch (e) {
      throw new CampaignError(`obsdb ${dbFile} is not an SQLite database: ${(e as Error).message}\n  fix: point the context's obsdb at sotodlib's obsdb file`);
    }
    if (!have.length) throw new CampaignError(`obsdb ${dbFile} has no obs table\n  fix: point the context's obsdb at sotodlib's obsdb file`);
    const missing = ['obs_id', ...columns].filter((c) => !have.includes(c));
    if (missing.length) throw new CampaignError(`obsdb ${dbFile} has no column ${missing.join(', ')}, which this workflow reads\n  fix: use an obsdb with the obs columns ${['obs_id', ...columns].join(', ')}`);
    let rows: Record<string, unknown>[];
    let notFound: string[] = [];
    if (query.startsWith('file://')) {
      const list = filePath(query, base);
      if (!existsSync(list)) throw new MissingObsdb(`query ${query}: ${list} does not exist`);
      if (!statSync(list).isFile()) throw new CampaignError(`query ${query}: ${list} is not a file of obs ids\n  fix: name a text file with one obs id per line`);
      const lines = readFileSync(list, 'utf8').split('\n').map((l) => l.trim());
      const bad = lines.findIndex((l) => l && !OBS_ID.test(l));
      if (bad >= 0) throw new CampaignError(`query ${query}: line ${bad + 1} of ${list} is not an obs id\n  fix: one obs id per line (letters, digits and . _ : + -)`);
      const ids = [...new Set(lines.filter(Boolean))];
      const stmt = db.prepare('SELECT * FROM obs WHERE obs_id = ?');
      const found = ids.map((id) => [id, stmt.get(id)] as const);
      notFound = found.filter(([, row]) => !row).map(([id]) => id);
      rows = found.flatMap(([, row]) => (row ? [row as Record<string, unknown>] : []));
      rows.sort((a, b) => (String(a.obs_id) < String(b.obs_id) ? -1 : 1));
    } else {
      const check = checkCondition(query, have);
      if (!check.ok) throw new CampaignError(`query "${query}" is not a condition on the obs table: ${check.why}\n  fix: ${check.fix}`);
      try {
        rows = db.prepare(`SELECT * FROM obs WHERE ${query} ORDER BY obs_id`).all() as Record<string, unknown>[];
      } catch (e) {
        throw new CampaignError(`query "${query}" fails on ${dbFile}: ${(e as Error).message}\n  fix: write an SQL condition on the obs table (columns ${have.join(', ')}), or "1" for all`);
      }
    }
    for (const r of rows) {
      if (typeof r.obs_id !== 'string' || !OBS_ID.test(r.obs_id)) throw new CampaignError(`obsdb ${dbFile}: obs_id ${JSON.stringify(r.obs_id).slice(0, 200)} is not an obs id (letters, digits and . _ : + -, at most 200)\n  fix: correct the obsdb, or leave the observation out of the query`);
      if (columns.includes('wafer_slots_list')) {
        const wafer = String(r.wafer_slots_list ?? '').split(',').map((w) => w.trim()).find((w) => w && !WAFER.test(w));
        if (wafer !== undefined) throw new CampaignError(`obsdb ${dbFile}: observation ${r.obs_id} has wafer ${JSON.stringify(wafer).slice(0, 200)} in wafer_slots_list, not a wafer name\n  fix: correct the obsdb (wafer names are letters, digits, _ and -, at most 100), or leave the observation out of the query`);
      }
      const bad = columns.find((c) => NUMERIC.includes(c) && (typeof r[c] !== 'number' || !Number.isFinite(r[c])));
      if (bad) throw new CampaignError(`obsdb ${dbFile}: observation ${String(r.obs_id).slice(0, 200)} has ${JSON.stringify(r[bad])} for ${bad}, not a number\n  fix: correct the obsdb, or leave the observation out of the query`);
    }
    const observations = rows.map((r) => ({
      obs_id: String(r.obs_id),
      timestamp: Number(r.timestamp),
      az_center: Number(r.az_center),
      el_center: Number(r.el_center),
      pwv: Number(r.pwv ?? 0),
      wafers: String(r.wafer_slots_list ?? '').split(',').map((w) => w.trim()).filter(Boolean),
      // socm: a missing tube_slot is st1
      tube_slot: r.tube_slot === undefined ? 'st1' : String(r.tube_slot ?? ''),
      n_samples: Number(r.n_samples ?? 0),
    }));
    return { observations, notFound };
  } finally {
    db.close();
  }
}
