import { closeSync, openSync, writeSync } from 'node:fs';
import { runProcess } from '../../engine/process';
import type { Ended } from '../../engine/backend';
import { shellLine, type StageInvocation } from '../../model/command';

const TAIL_LINES = 30;

/**
 * Run one attempt's command on this machine, its output to its log and, prefixed with `label`,
 * to `print`. Interrupted counts as failed even if the command then exits 0: a script whose child
 * was killed may carry on and exit cleanly with half its work done.
 */
export async function runAttempt(inv: StageInvocation, label: string, print: (line: string) => void, signal: AbortSignal): Promise<Ended> {
  // Small synchronous writes: cheaper than a stream per stage when stages are many and short.
  const log = openSync(inv.logFile, 'w');
  const started = Date.now();
  writeSync(log, `# stage ${inv.stage.name}\n# command: ${shellLine(inv.argv)}\n# cwd: ${inv.cwd}\n# started: ${new Date(started).toISOString()}\n`);
  const tail: string[] = [];
  const end = await runProcess(inv.argv, {
    cwd: inv.cwd,
    env: inv.env,
    onLine: (line) => {
      writeSync(log, `${line}\n`);
      print(`[${label}] ${line}`);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    },
    signal,
  });
  const seconds = (Date.now() - started) / 1000;
  const interrupted = end.interrupted || signal.aborted;
  const why =
    end.error?.code === 'ENOENT' ? `command not found: ${inv.argv[0]}`
    : end.error ? `could not start ${inv.argv[0]}: ${end.error.message}`
    : interrupted ? 'interrupted'
    : end.signal ? `killed by ${end.signal}`
    : undefined;
  writeSync(log, `# ended: ${new Date().toISOString()} (${seconds.toFixed(1)} s): ${why ?? `exit code ${end.code}`}\n`);
  closeSync(log);
  return {
    exitCode: end.code ?? undefined,
    state: interrupted ? 'interrupted' : undefined,
    why,
    where: `log: ${inv.logFile}`,
    seconds,
    startedAt: new Date(started).toISOString(),
    output: `--- last lines of ${inv.logFile} ---\n${tail.join('\n')}\n`,
  };
}
