import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { shellQuote } from '../model/command';

/**
 * Science outputs are not copied into Nx's cache, so a cache hit is only valid while the
 * files on disk are the ones that run produced. Two records make that checkable:
 *
 * - the epoch of each stage, bumped whenever its fingerprint differs from the one last
 *   seen. It is part of the Nx task hash, so returning to an earlier configuration never
 *   hits the cache entry of files that have since been overwritten. A per-clone salt
 *   keeps one clone's cache entries from matching another clone's files.
 * - a receipt written after each success. While it exists, a missing output changes the
 *   task hash (see `damageCheckCommand`), so a deleted output is re-made, never reported.
 *
 * Both live in Nx's workspace-data folder, so `nx reset` clears them with the cache.
 */
export interface StageEpochs {
  salt: string;
  stages: Record<string, { fingerprint: string; epoch: number }>;
}

/** Nx's workspace-data folder (same rule as Nx: NX_WORKSPACE_DATA_DIRECTORY, else .nx/workspace-data). */
export function workspaceDataDir(wsRoot: string): string {
  const configured = process.env.NX_WORKSPACE_DATA_DIRECTORY ?? process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY;
  return configured ? resolve(wsRoot, configured) : join(wsRoot, '.nx', 'workspace-data');
}

export function stateDir(workspaceDataDir: string, run: string): string {
  return join(workspaceDataDir, 'nx-campaign', run);
}

export function receiptFile(workspaceDataDir: string, run: string, stage: string): string {
  return join(stateDir(workspaceDataDir, run), 'receipts', `${stage}.json`);
}

/** Bring the epochs in line with the current fingerprints; returns stage -> hash salt. */
export function updateEpochs(workspaceDataDir: string, run: string, fingerprints: Map<string, string>): Map<string, string> {
  const file = join(stateDir(workspaceDataDir, run), 'epochs.json');
  let state: StageEpochs | undefined;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as StageEpochs;
  } catch {
    state = undefined;
  }
  state ??= { salt: randomBytes(8).toString('hex'), stages: {} };
  let changed = !existsSync(file);
  for (const [stage, fingerprint] of fingerprints) {
    const prior = state.stages[stage];
    if (!prior || prior.fingerprint !== fingerprint) {
      state.stages[stage] = { fingerprint, epoch: prior ? prior.epoch + 1 : 0 };
      changed = true;
    }
  }
  if (changed) writeFileAtomic(file, JSON.stringify(state, null, 1));
  return new Map([...fingerprints.keys()].map((s) => [s, `${state!.salt}.${state!.stages[s].epoch}`]));
}

export interface Receipt {
  fingerprint: string;
  outputs: string[];
  finishedAt: string;
}

export function writeReceipt(workspaceDataDir: string, run: string, stage: string, receipt: Receipt): void {
  writeFileAtomic(receiptFile(workspaceDataDir, run, stage), JSON.stringify(receipt, null, 1));
}

export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * A shell test, run by Nx at hash time from the workspace root: "ok" unless the stage has
 * a receipt and one of its outputs is gone; then the receipt itself, whose finish time
 * makes every damage after a repair hash differently from the last one.
 * Paths are quoted; nothing is interpolated raw.
 */
export function damageCheckCommand(receipt: string, outputs: string[]): string {
  const present = outputs.map((o) => `[ -e ${shellQuote(o)} ]`).join(' && ');
  return `[ ! -e ${shellQuote(receipt)} ] || { ${present}; } && echo ok || cat ${shellQuote(receipt)}`;
}
