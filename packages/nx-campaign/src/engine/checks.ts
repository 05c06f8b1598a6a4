/**
 * A stage's checks on the submitting machine (model Stage.checks): before it is submitted (a
 * review gate, a quantum-graph build), and after it exited 0 (its datasets exist). A failed check
 * says what failed, the tool's own words, and the command to reproduce it.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { shellLine, type ResolvedCheck, type StageInvocation } from '../model/command';
import { BUTLER_NOT_FOUND_FIX, ButlerError, lastLines, missingDatasetTypes } from '../workflows/rubin/butler';
import { runProcess } from './process';

export interface CheckFailure {
  /** `blocked`: waiting for someone (a review); `failed`: the check itself failed. */
  state: 'blocked' | 'failed';
  message: string;
  output: string;
}

export interface CheckContext {
  wsRoot: string;
  run: string;
  signal?: AbortSignal;
  /** Who accepted step `step` of `run`, when (`campaign accept`); undefined: not accepted. */
  accepted?: (run: string, step: string) => { by: string; at: string } | undefined;
}

/** Run `checks` in order; the first failure, or undefined when all passed. */
export async function runChecks(inv: StageInvocation, checks: ResolvedCheck[], ctx: CheckContext): Promise<CheckFailure | undefined> {
  for (const c of checks) {
    const failure = await runCheck(inv, c, ctx);
    if (failure) return failure;
  }
  return undefined;
}

async function runCheck(inv: StageInvocation, c: ResolvedCheck, ctx: CheckContext): Promise<CheckFailure | undefined> {
  switch (c.kind) {
    case 'accepted':
      if (ctx.accepted?.(ctx.run, c.step)) return undefined;
      return { state: 'blocked', message: `waiting for review: step ${c.step} is not accepted yet; when its results are good: npx campaign accept ${ctx.run} ${c.step}`, output: '' };
    case 'command': {
      const log = inv.logFile.replace(/\.log$/, `.${c.what.replace(/\W+/g, '-')}.log`);
      mkdirSync(dirname(log), { recursive: true });
      mkdirSync(inv.env.NX_CAMPAIGN_OUTPUT_DIR ?? inv.cwd, { recursive: true });
      const out = createWriteStream(log);
      const lines: string[] = [];
      const end = await runProcess(c.argv, { cwd: inv.cwd, env: inv.env, signal: ctx.signal, onLine: (l) => (out.write(`${l}\n`), lines.push(l), lines.length > 200 && lines.shift()) });
      await new Promise<void>((resolve) => out.end(() => resolve()));
      if (end.code === 0) return undefined;
      const why = end.error ? (end.error.code === 'ENOENT' ? `${c.argv[0]} is not on PATH` : end.error.message) : toolMessage(lines) || `exited with code ${end.code ?? end.signal}`;
      return { state: 'failed', message: `pre-flight ${c.what} failed, nothing submitted: ${why}\n  reproduce: ${shellLine(c.argv)}\n  log: ${log}`, output: lines.join('\n') };
    }
    case 'datasets': {
      try {
        const { missing, argv } = await missingDatasetTypes(c.butler, c.collection, c.datasetTypes, inv.cwd);
        if (!missing.length) return undefined;
        return { state: 'failed', message: `exited 0, but ${c.collection} holds no ${missing.join(', ')}\n  check: ${shellLine(argv)}`, output: '' };
      } catch (e) {
        if (!(e instanceof ButlerError)) throw e;
        return { state: 'failed', message: `could not check its datasets: ${e.message}\n  ${e.notFound ? `fix: ${BUTLER_NOT_FOUND_FIX}` : `reproduce: ${shellLine(e.argv)}`}`, output: '' };
      }
    }
  }
}

/** What a tool said went wrong: its last `SomeError: message` line (a Python traceback's end), else its last lines. */
function toolMessage(lines: string[]): string {
  for (let i = lines.length - 1; i >= 0; i--) if (/^[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b:? /.test(lines[i])) return lines[i];
  return lastLines(lines.join('\n'));
}
