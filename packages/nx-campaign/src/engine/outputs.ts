/**
 * The atomic-output protocol, on every backend: no failed or killed stage leaves a file that
 * looks complete. Earlier outputs are removed before an attempt; an output given to the command
 * as an argument is written under its in-progress name and renamed on success; one the command
 * writes itself is renamed to its in-progress name if the attempt fails.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StageInvocation } from '../model/command';

const madeDirs = new Set<string>();

/** mkdir -p, once per folder and process. */
function ensureDir(dir: string): void {
  if (madeDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  madeDirs.add(dir);
}

/**
 * Before a stage starts, on any backend: its inputs exist, and (`refuseExisting`) none of its
 * outputs does; earlier outputs are removed, so that if this attempt fails none looks like its
 * result. Returns why the stage cannot start, or undefined. `producedLater`: inputs that stages
 * submitted with it will write first.
 */
export function prepareOutputs(inv: StageInvocation, refuseExisting: boolean, producedLater: ReadonlySet<string> = new Set()): string | undefined {
  const missing = inv.inputs.filter((f) => !producedLater.has(f) && !existsSync(f));
  if (missing.length) return `input ${missing.join(', ')} does not exist`;
  if (refuseExisting) {
    const existing = inv.outputs.filter((o) => existsSync(o.final)).map((o) => o.final);
    if (existing.length) return `resume: refuse, and output ${existing.join(', ')} already exists; delete it or set resume: resume`;
  }
  ensureDir(inv.cwd);
  ensureDir(dirname(inv.logFile));
  for (const [file, text] of Object.entries(inv.files)) {
    ensureDir(dirname(file));
    writeFileSync(file, text);
  }
  for (const o of inv.outputs) {
    ensureDir(dirname(o.final));
    // An output may be a folder; outputs lie inside the run's output folder (checked at load).
    rmSync(o.inProgress, { force: true, recursive: true });
    rmSync(o.final, { force: true, recursive: true });
  }
  return undefined;
}

/** After a failed or interrupted attempt: an output the command wrote itself goes to its in-progress name. */
export function settleFailedOutputs(inv: StageInvocation): void {
  for (const o of inv.outputs) if (!o.viaArgument && existsSync(o.final)) renameSync(o.final, o.inProgress);
}

/** After a command exited 0: in-progress outputs get their final names. Returns the outputs still missing. */
export function settleOutputs(inv: StageInvocation): string[] {
  for (const o of inv.outputs) if (o.viaArgument && existsSync(o.inProgress)) renameSync(o.inProgress, o.final);
  return inv.outputs.filter((o) => !existsSync(o.final)).map((o) => o.final);
}
