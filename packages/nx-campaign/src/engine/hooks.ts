/**
 * A run's pre_script and post_script (shell commands the user wrote, run from the workspace
 * root), for every backend: the pre_script before the run's first stage starts, the
 * post_script after its last one ends when all succeeded.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { absolutePath } from '../model/command';
import type { Run } from '../model/run';
import type { StageResult } from '../store/result';
import { runProcess } from './process';

export interface HookOptions {
  wsRoot: string;
  print: (line: string) => void;
  signal?: AbortSignal;
}

/** Run one hook; its lines go to `<log_dir>/<which>.log` and to `print`. */
export async function runHook(opts: HookOptions, run: Run, which: 'pre_script' | 'post_script', command: string): Promise<StageResult> {
  const logDir = absolutePath(opts.wsRoot, run.logDir);
  const logFile = join(logDir, `${which}.log`);
  // A log that cannot be written (a full disk) fails the hook, not this process.
  let logError: Error | undefined;
  try {
    mkdirSync(logDir, { recursive: true });
  } catch (e) {
    logError = e as Error;
  }
  const log = createWriteStream(logFile).on('error', (e) => void (logError ??= e));
  const end = await runProcess(['sh', '-c', command], {
    cwd: opts.wsRoot,
    env: { NX_CAMPAIGN_RUN: run.name, NX_CAMPAIGN_OUTPUT_DIR: absolutePath(opts.wsRoot, run.outputDir), NX_CAMPAIGN_LOG_DIR: logDir },
    onLine: (line) => {
      log.write(`${line}\n`);
      opts.print(`[${run.name} ${which}] ${line}`);
    },
    signal: opts.signal,
  });
  await new Promise<void>((resolve) => log.end(() => resolve()).once('error', () => resolve()));
  if (logError) return { status: 'failure', message: `${which} could not write its log ${logFile}: ${logError.message}`, output: '', logFile };
  return end.code === 0
    ? { status: 'success', message: `${which} done`, output: '', logFile }
    : { status: 'failure', message: `${which} exited with code ${end.code ?? end.signal} (log: ${logFile})`, output: '', logFile };
}

/**
 * Counts each run's stages down as their results come: the result of a run's last stage is
 * handed back after its post_script (when every stage succeeded), or replaced by the hook's
 * failure.
 */
export class RunEnds {
  private readonly left = new Map<string, number>();
  private readonly failed = new Set<string>();

  constructor(
    private readonly runs: { run: Run; stages: string[] }[],
    private readonly opts: HookOptions,
  ) {
    for (const { run, stages } of runs) this.left.set(run.name, stages.length);
  }

  async ended(run: string, result: StageResult): Promise<StageResult> {
    if (result.status !== 'success') this.failed.add(run);
    const left = this.left.get(run)! - 1;
    this.left.set(run, left);
    const r = this.runs.find((j) => j.run.name === run)!.run;
    if (left > 0 || !r.postScript || this.failed.has(run)) return result;
    const hook = await runHook(this.opts, r, 'post_script', r.postScript);
    return hook.status === 'success' ? result : { ...hook, message: `post_script failed after this stage: ${hook.message}` };
  }
}
