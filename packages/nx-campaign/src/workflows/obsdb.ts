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

/** The obsdb file a context YAML names (relative to the context file). */
export function obsdbOf(contextFile: string): string {
  if (!existsSync(contextFile)) throw new CampaignError(`context ${contextFile} does not exist`);
  const ctx = load(readFileSync(contextFile, 'utf8')) as { obsdb?: unknown } | null;
  if (!ctx || typeof ctx.obsdb !== 'string') throw new CampaignError(`context ${contextFile} has no obsdb entry (the SQLite file of observations)`);
  const db = isAbsolute(ctx.obsdb) ? ctx.obsdb : resolve(dirname(contextFile), ctx.obsdb);
  if (!existsSync(db)) throw new CampaignError(`obsdb ${db} (named by ${contextFile}) does not exist`);
  return db;
}

/**
 * The observations a query selects, by timestamp: an SQL condition on `obs` ("1" for all), or
 * `file://<list>` of obs ids, one per line (`base` resolves a relative list path).
 */
export function selectObservations(contextFile: string, query: string, base: string): Observation[] {
  const dbFile = obsdbOf(contextFile);
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    let rows: Record<string, unknown>[];
    if (query.startsWith('file://')) {
      const list = filePath(query, base);
      if (!existsSync(list)) throw new CampaignError(`query ${query}: ${list} does not exist`);
      const ids = readFileSync(list, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      const stmt = db.prepare('SELECT * FROM obs WHERE obs_id = ?');
      rows = ids.map((id) => {
        const row = stmt.get(id) as Record<string, unknown> | undefined;
        if (!row) throw new CampaignError(`query ${query}: obs_id ${id} is not in ${dbFile}`);
        return row;
      });
    } else {
      try {
        rows = db.prepare(`SELECT * FROM obs WHERE ${query} ORDER BY timestamp, obs_id`).all() as Record<string, unknown>[];
      } catch (e) {
        throw new CampaignError(`query "${query}" fails on ${dbFile}: ${(e as Error).message}\n  fix: write an SQL condition on the obs table (columns obs_id, timestamp, az_center, el_center, pwv, wafer_slots_list, tube_slot, n_samples), or "1" for all`);
      }
    }
    return rows.map((r) => ({
      obs_id: String(r.obs_id),
      timestamp: Number(r.timestamp),
      az_center: Number(r.az_center),
      el_center: Number(r.el_center),
      pwv: Number(r.pwv),
      wafers: String(r.wafer_slots_list ?? '').split(',').map((w) => w.trim()).filter(Boolean),
      tube_slot: String(r.tube_slot ?? ''),
      n_samples: Number(r.n_samples ?? 0),
    }));
  } finally {
    db.close();
  }
}
