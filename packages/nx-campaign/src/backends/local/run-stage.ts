import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { runProcess } from '../../engine/process';
import { shellLine, type StageInvocation } from '../../model/command';
import type { StageResult } from '../../store/result';

const TAIL_LINES = 30;

export interface RunStageOptions {
  /** Refuse to start if any output already exists (ceci's `resume: refuse`). */
  refuseExisting: boolean;
  /** Receives each line of the stage's output, already prefixed with the stage name. */
  print: (line: string) => void;
  signal?: AbortSignal;
}

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

/**
 * Run one stage on this machine: output to its log (and, prefixed, to `print`), outputs
 * made atomic. Earlier outputs are removed before the start. An output given to the
 * command as an argument is written under its in-progress name and renamed on success;
 * one the command writes itself is renamed to its in-progress name if the stage fails.
 * No failed or killed stage leaves a file that looks complete.
 */
export async function runStage(inv: StageInvocation, opts: RunStageOptions): Promise<StageResult> {
  const name = inv.stage.name;
  const fail = (message: string, output = ''): StageResult => ({ status: 'failure', message, output, logFile: inv.logFile });
  const refused = prepareOutputs(inv, opts.refuseExisting);
  if (refused) return fail(refused);

  // Small synchronous writes: cheaper than a stream per stage when stages are many and short.
  const log = openSync(inv.logFile, 'w');
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  writeSync(log, `# stage ${name}\n# command: ${shellLine(inv.argv)}\n# cwd: ${inv.cwd}\n# started: ${new Date(started).toISOString()}\n`);
  const tail: string[] = [];
  const onLine = (line: string) => {
    writeSync(log, `${line}\n`);
    opts.print(`[${name}] ${line}`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const end = await runProcess(inv.argv, { cwd: inv.cwd, env: inv.env, onLine, signal: opts.signal });
  const seconds = (Date.now() - started) / 1000;
  const finish = (r: StageResult) => {
    writeSync(log, `# ended: ${new Date().toISOString()} (${seconds.toFixed(1)} s): ${r.status}: ${r.message}\n`);
    closeSync(log);
    return r;
  };
  const tailText = () => `--- last lines of ${inv.logFile} ---\n${tail.join('\n')}`;

  // Interrupted counts as failed even if the command then exits 0: a script whose child was
  // killed may carry on and exit cleanly with half its work done.
  const interrupted = end.interrupted || opts.signal?.aborted === true;
  const recorded = { seconds, startedAt, exitCode: end.code ?? undefined, logFile: inv.logFile };
  if (end.code !== 0 || interrupted) {
    settleFailedOutputs(inv);
    const why =
      end.error?.code === 'ENOENT' ? `command not found: ${inv.argv[0]}`
      : end.error ? `could not start ${inv.argv[0]}: ${end.error.message}`
      : interrupted ? 'interrupted'
      : end.signal ? `killed by ${end.signal}`
      : `exited with code ${end.code}`;
    return finish({ ...recorded, status: 'failure', state: interrupted ? 'interrupted' : 'failed', message: `${why} (log: ${inv.logFile})`, output: `${tailText()}\n` });
  }
  const absent = settleOutputs(inv);
  if (absent.length) {
    return finish({ ...recorded, status: 'failure', message: `exited 0 but did not write ${absent.join(', ')} (log: ${inv.logFile})`, output: `${tailText()}\n` });
  }
  return finish({ ...recorded, status: 'success', message: `done in ${seconds.toFixed(1)} s (log: ${inv.logFile})`, output: '' });
}
