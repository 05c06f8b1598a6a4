import { spawn, spawnSync } from 'node:child_process';
import type { SplitValue } from './splits';

/** The `butler` command (the stack's, or the stand-in in pipelines/rubin/bin): found on PATH. */
export const BUTLER = 'butler';
const TIMEOUT_MS = 120_000;

export const BUTLER_NOT_FOUND_FIX = 'set up the LSST stack (setup lsst_distrib) so that butler is on PATH; to try without it, put the stand-ins first: export PATH=$PWD/pipelines/rubin/bin:$PATH';

/** A failed butler call: what it said, and the command to reproduce it. */
export class ButlerError extends Error {
  constructor(message: string, readonly argv: string[], readonly notFound = false) {
    super(message);
  }
}

/**
 * The tables the stack prints (astropy's `pformat`: `butler query-data-ids`, `query-datasets`,
 * `bps report`): a header line, a line of dashes, rows; several tables are separated by blank
 * lines. Columns are where the runs of dashes are (a header or a cell may be blank: BPS's flag
 * column `X`).
 */
export function parseTables(text: string): Record<string, string>[][] {
  const lines = text.split('\n');
  const tables: Record<string, string>[][] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!/^\s*-+(\s+-+)*\s*$/.test(lines[i])) continue;
    const spans = [...lines[i].matchAll(/-+/g)].map((m) => [m.index!, m.index! + m[0].length] as const);
    // A cell may overflow its dashes by nothing (astropy sizes columns to fit): cut between columns.
    const cut = (line: string) => spans.map(([from], j) => line.slice(j ? from - 1 : 0, j + 1 < spans.length ? spans[j + 1][0] - 1 : undefined).trim());
    const header = cut(lines[i - 1]);
    const rows: Record<string, string>[] = [];
    for (i++; i < lines.length && lines[i].trim(); i++) rows.push(Object.fromEntries(header.map((h, j) => [h, cut(lines[i])[j]])));
    tables.push(rows);
  }
  return tables;
}

function run(argv: string[], cwd: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) {
    const notFound = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ButlerError(notFound ? `${argv[0]} is not on PATH` : r.error.message, argv, notFound);
  }
  if (r.status !== 0) throw new ButlerError(lastLines(`${r.stderr}${r.stdout}`) || `exited with code ${r.status}`, argv);
  return r.stdout;
}

/** The last few non-empty lines: a tool's own explanation of its failure. */
export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').filter((l) => l.trim()).slice(-n).join('\n');
}

export function queryDataIdsArgv(repo: string, dimension: string, o: { collections: string[]; dataset?: string; where?: string }): string[] {
  // --limit 0: every row (query-data-ids stops at 20,000 by default, with only a warning).
  return [BUTLER, 'query-data-ids', repo, dimension, '--limit', '0', ...(o.collections.length ? ['--collections', o.collections.join(',')] : []), ...(o.dataset ? ['--datasets', o.dataset] : []), ...(o.where ? ['--where', o.where] : [])];
}

/** The sorted distinct values of `dimension` the query finds (what a split by query cuts). */
export function distinctValues(repo: string, dimension: string, o: { collections: string[]; dataset?: string; where?: string; cwd: string }): SplitValue[] {
  const out = run(queryDataIdsArgv(repo, dimension, o), o.cwd);
  const values = new Set<string>();
  for (const table of parseTables(out)) for (const row of table) if (row[dimension] !== undefined) values.add(row[dimension]);
  const all = [...values];
  if (all.length && all.every((v) => /^-?\d+$/.test(v))) return all.map(Number).sort((a, b) => a - b);
  return all.sort();
}

export function queryDatasetsArgv(repo: string, collection: string, datasetTypes: string[]): string[] {
  return [BUTLER, 'query-datasets', repo, ...datasetTypes, '--collections', collection];
}

/** Dataset types of `datasetTypes` with no dataset in `collection` (after a group said it succeeded). */
export async function missingDatasetTypes(repo: string, collection: string, datasetTypes: string[], cwd: string): Promise<{ missing: string[]; argv: string[] }> {
  const argv = queryDatasetsArgv(repo, collection, datasetTypes);
  const out = await new Promise<string>((resolveOut, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(new ButlerError((e as NodeJS.ErrnoException).code === 'ENOENT' ? `${argv[0]} is not on PATH` : e.message, argv)));
    child.on('close', (code) => (code === 0 ? resolveOut(stdout) : reject(new ButlerError(lastLines(`${stderr}${stdout}`) || `exited with code ${code}`, argv))));
  });
  const found = new Set(parseTables(out).flatMap((t) => t.map((row) => row.type)));
  return { missing: datasetTypes.filter((t) => !found.has(t)), argv };
}
