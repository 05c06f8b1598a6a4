import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Ended } from '../../engine/backend';
import { shellLine, type StageInvocation } from '../../model/command';

const TAIL_LINES = 30;
const SCRIPT = join(__dirname, '..', '..', '..', 'python', 'launch.py');

interface LaunchEnd {
  code: number | null;
  signal: string | null;
  /** errno code when it could not be started (ENOENT); ELOG: its log could not be written. */
  error: string | null;
  message: string | null;
  /** Wall-clock epoch ms, for the record's times. */
  started: number;
  ended: number;
  /** Its duration on the monotonic clock. */
  seconds: number;
}

/** Signals a program's own fault raises: a science failure, not one from outside. */
const CRASHES = new Set(['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL']);

/**
 * The processes of stages, started by python/launch.py (one per backend): Node forks its whole
 * address space per child, which from the batch executor blocks the event loop ~3 ms per stage;
 * the launcher's vfork takes ~0.4 ms. It writes each stage's log and hands back its lines.
 */
export class Launcher {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, { onLines: (lines: string[]) => void; resolve: (e: LaunchEnd) => void }>();
  private failure?: string;

  constructor() {
    const python = process.env.NX_CAMPAIGN_PYTHON || 'python3';
    // -E: PYTHON* variables cannot change what runs; -S: only the standard library is needed.
    this.child = spawn(python, ['-E', '-S', SCRIPT], { stdio: ['pipe', 'inherit', 'inherit', 'pipe'] });
    this.child.on('error', (e) => this.fail(`could not start the stage launcher (${python} ${SCRIPT}): ${e.message}; fix: install Python 3.8 or later as python3, or set NX_CAMPAIGN_PYTHON to one`));
    (this.child.stdin as Writable).on('error', () => undefined); // it ended: 'close' says so
    this.child.on('close', (code, signal) => this.fail(`the stage launcher (${python} ${SCRIPT}) ended (${signal ?? `exit code ${code}`}) with stages running`));
    let partial = '';
    const reports = this.child.stdio[3] as Readable;
    reports.setEncoding('utf8');
    reports.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const r = JSON.parse(line) as { id: string; lines?: string[] } & LaunchEnd;
        const w = this.waiting.get(r.id);
        if (!w) continue;
        if (r.lines) w.onLines(r.lines);
        else {
          this.waiting.delete(r.id);
          w.resolve(r);
        }
      }
    });
  }

  private fail(why: string): void {
    this.failure ??= why;
    const now = Date.now();
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.resolve({ code: null, signal: null, error: 'LAUNCHER', message: this.failure, started: now, ended: now, seconds: 0 });
    }
  }

  private send(req: object): void {
    (this.child.stdin as Writable).write(`${JSON.stringify(req)}\n`);
  }

  run(id: string, inv: StageInvocation, onLines: (lines: string[]) => void): Promise<LaunchEnd> {
    return new Promise((resolve) => {
      this.waiting.set(id, { onLines, resolve });
      if (this.failure) return this.fail(this.failure);
      const header = `# stage ${inv.stage.name}\n# command: ${shellLine(inv.argv)}\n# cwd: ${inv.cwd}\n# started: ${new Date().toISOString()}\n`;
      this.send({ op: 'start', id, argv: inv.argv, cwd: inv.cwd, env: inv.env, log: inv.logFile, header });
    });
  }

  /** SIGTERM to its process group, SIGKILL 5 s later. */
  stop(id: string): void {
    if (this.waiting.has(id)) this.send({ op: 'stop', id });
  }

  /** No more stages: the launcher exits when those running have ended (stopping them if this process goes). */
  close(): void {
    this.child.removeAllListeners('close');
    (this.child.stdin as Writable).end();
  }
}

/**
 * Run one attempt's command through `launcher`, its lines, prefixed with `label`, to `print`.
 * `stopped()`: whether it was asked to stop. Interrupted counts as failed even if the command
 * then exits 0: a script whose child was killed may carry on and exit cleanly with half its work done.
 */
export async function runAttempt(launcher: Launcher, id: string, inv: StageInvocation, label: string, print: (line: string) => void, stopped: () => boolean): Promise<Ended> {
  const tail: string[] = [];
  const end = await launcher.run(id, inv, (lines) => {
    for (const line of lines) print(`[${label}] ${line}`);
    tail.push(...lines);
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  });
  const interrupted = stopped();
  const why =
    end.error === 'ENOENT' ? `command not found: ${inv.argv[0]}`
    : end.error === 'LAUNCHER' || end.error === 'ELOG' ? end.message!
    : end.error === 'ENOSPC' || end.error === 'EDQUOT' ? `could not write its log ${inv.logFile}: ${end.message}`
    : end.error ? `could not start ${inv.argv[0]}: ${end.message}`
    : interrupted ? 'interrupted'
    : end.signal ? `killed by ${end.signal}`
    : undefined;
  const science = end.error === 'ENOENT' || end.error === 'EACCES' || end.error === 'ENOTDIR' || (end.signal !== null && CRASHES.has(end.signal));
  return {
    exitCode: end.code ?? undefined,
    // A log that could not be written fails the stage whatever its exit code.
    state: interrupted ? 'interrupted' : end.error === 'ELOG' ? 'failed' : undefined,
    why,
    where: `log: ${inv.logFile}`,
    failureClass: science ? 'science' : end.error && end.error !== 'ELOG' && !interrupted ? 'infrastructure' : undefined,
    seconds: end.seconds,
    startedAt: new Date(end.started).toISOString(),
    output: `--- last lines of ${inv.logFile} ---\n${tail.join('\n')}\n`,
  };
}
