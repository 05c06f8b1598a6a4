import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
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
 *   task hash (see `damageCheckScript`), so a deleted output is re-made, never reported;
 *   and a stage Nx sends to run whose outputs are those of its current fingerprint
 *   (see `isComplete`) is not run again.
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
  outputs: { path: string; stamp: string }[];
  finishedAt: string;
}

export async function writeReceipt(workspaceDataDir: string, run: string, stage: string, fingerprint: string, outputs: string[]): Promise<void> {
  const receipt: Receipt = { fingerprint, outputs: outputs.map((path) => ({ path, stamp: fileStamp(path) })), finishedAt: new Date().toISOString() };
  const file = receiptFile(workspaceDataDir, run, stage);
  const tmp = `${file}.${process.pid}.tmp`;
  const text = `${JSON.stringify(receipt)}\n`; // one line: the damage check reads it with `read`
  // The folder is there but for a run's first receipt: make it only then.
  await writeFile(tmp, text).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, text);
  });
  await rename(tmp, file);
}

export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The shell script behind each stage's `runtime` input, one per run (Nx runs a command
 * once per invocation however many tasks share it). It prints nothing while every stage
 * with a receipt still has all its outputs, none written since the receipt; otherwise the
 * receipts of the damaged stages,
 * whose finish times make each damage after a repair hash differently from the last.
 * Paths are quoted; nothing is interpolated raw.
 */
export function damageCheckScript(stages: { receipt: string; outputs: string[] }[]): string {
  const lines = stages
    .filter((s) => s.outputs.length)
    // Builtins only (`[`, `read`, `echo`): one sh process however many stages are damaged.
    // An output missing, or newer than the receipt (written over since, by another run say), is damage.
    .map((s) => `[ ! -e ${shellQuote(s.receipt)} ] || { ${s.outputs.map((o) => `[ -e ${shellQuote(o)} ] && [ ! ${shellQuote(o)} -nt ${shellQuote(s.receipt)} ]`).join(' && ')}; } || { read -r r < ${shellQuote(s.receipt)}; echo "$r"; }`);
  return `# Written by nx-campaign: prints the receipts of stages whose outputs are missing.\n${lines.join('\n')}\ntrue\n`;
}

export function damageCheckFile(workspaceDataDir: string, run: string): string {
  return join(stateDir(workspaceDataDir, run), 'damage-check.sh');
}

/** Write `file` unless it already holds `text`. */
export function writeFileIfChanged(file: string, text: string): void {
  try {
    if (readFileSync(file, 'utf8') === text) return;
  } catch {
    // absent: write it
  }
  writeFileAtomic(file, text);
}

/** The size and mtime of each output (absolute path) as the stage's last success left it, if it has a receipt. */
export function receiptStamps(workspaceDataDir: string, run: string, stage: string): Map<string, string> | undefined {
  try {
    const receipt = JSON.parse(readFileSync(receiptFile(workspaceDataDir, run, stage), 'utf8')) as Receipt;
    return new Map(receipt.outputs.map((o) => [o.path, o.stamp]));
  } catch {
    return undefined;
  }
}

/** The stage's outputs on disk are the ones a run with this fingerprint made. */
export function isComplete(workspaceDataDir: string, run: string, stage: string, fingerprint: string): boolean {
  let receipt: Receipt;
  try {
    receipt = JSON.parse(readFileSync(receiptFile(workspaceDataDir, run, stage), 'utf8')) as Receipt;
  } catch {
    return false;
  }
  return receipt.fingerprint === fingerprint && receipt.outputs.every((o) => fileStamp(o.path) === o.stamp);
}

/** Size and modification time: enough to see a file was replaced. */
export function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
