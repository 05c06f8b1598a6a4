/**
 * Observations, as socm reads them: a context YAML whose `obsdb` entry names an SQLite file
 * with an `obs` table in sotodlib's layout; a query is an SQL condition on that table or a
 * `file://` list of obs ids. The database is opened read-only: no query can change it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { load } from 'js-yaml';
import { CampaignError } from '../config/errors';

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

/** The obsdb file a context YAML names (relative to the context file). */
export function obsdbOf(contextFile: string): string {
  if (!existsSync(contextFile)) throw new MissingObsdb(`context ${contextFile} does not exist`);
  const ctx = load(readFileSync(contextFile, 'utf8')) as { obsdb?: unknown } | null;
  if (!ctx || typeof ctx.obsdb !== 'string') throw new CampaignError(`context ${contextFile} has no obsdb entry (the SQLite file of observations)`);
  const db = isAbsolute(ctx.obsdb) ? ctx.obsdb : resolve(dirname(contextFile), ctx.obsdb);
  if (!existsSync(db)) throw new MissingObsdb(`obsdb ${db} (named by ${contextFile}) does not exist`);
  return db;
}

export interface Selection {
  /** In obs_id order, as sotodlib's `select obs.* from obs where <query> ORDER BY obs_id` returns them. */
  observations: Observation[];
  /** Ids of a `file://` list that the obsdb does not have (socm drops them silently). */
  notFound: string[];
}

/**
 * The observations a query selects: an SQL condition on `obs` ("1" for all), or
 * `file://<list>` of obs ids, one per line, which socm turns into `obs_id IN (...)`
 * (`base` resolves a relative list path).
 */
export function selectObservations(contextFile: string, query: string, base: string): Selection {
  const dbFile = obsdbOf(contextFile);
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    let rows: Record<string, unknown>[];
    let notFound: string[] = [];
    if (query.startsWith('file://')) {
      const list = filePath(query, base);
      if (!existsSync(list)) throw new MissingObsdb(`query ${query}: ${list} does not exist`);
      const ids = [...new Set(readFileSync(list, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean))];
      const stmt = db.prepare('SELECT * FROM obs WHERE obs_id = ?');
      const found = ids.map((id) => [id, stmt.get(id)] as const);
      notFound = found.filter(([, row]) => !row).map(([id]) => id);
      rows = found.flatMap(([, row]) => (row ? [row as Record<string, unknown>] : []));
      rows.sort((a, b) => (String(a.obs_id) < String(b.obs_id) ? -1 : 1));
    } else {
      try {
        rows = db.prepare(`SELECT * FROM obs WHERE ${query} ORDER BY obs_id`).all() as Record<string, unknown>[];
      } catch (e) {
        throw new CampaignError(`query "${query}" fails on ${dbFile}: ${(e as Error).message}\n  fix: write an SQL condition on the obs table (columns obs_id, timestamp, az_center, el_center, pwv, wafer_slots_list, tube_slot, n_samples), or "1" for all`);
      }
    }
    const observations = rows.map((r) => ({
      obs_id: String(r.obs_id),
      timestamp: Number(r.timestamp),
      az_center: Number(r.az_center),
      el_center: Number(r.el_center),
      // socm: a missing pwv is 0, a missing tube_slot st1
      pwv: Number(r.pwv ?? 0),
      wafers: String(r.wafer_slots_list ?? '').split(',').map((w) => w.trim()).filter(Boolean),
      tube_slot: r.tube_slot === undefined ? 'st1' : String(r.tube_slot ?? ''),
      n_samples: Number(r.n_samples ?? 0),
    }));
    return { observations, notFound };
  } finally {
    db.close();
  }
}
