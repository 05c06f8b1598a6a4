/**
 * BPS: each group of a Rubin campaign in `bps` mode is one workflow. Submitted when its parents
 * succeeded (its quantum graph, built by the pre-flight, is the submit file's `qgraphFile`),
 * followed with one `bps report` per poll interval for all of them (a workflow missing from the
 * list is asked for alone, `bps report --id`), its end read from `bps status --id`'s exit code,
 * cancelled with `bps cancel --id`. Memory and retries inside a workflow are BPS's own
 * (numberOfRetries, memoryMultiplier).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Attempt, Backend, Ended, Reattached, Report } from '../../engine/backend';
import { runProcess } from '../../engine/process';
import { CampaignError } from '../../format/errors';
import { absolutePath, shellLine } from '../../model/command';
import { lastLines, parseTables } from '../../workflows/rubin/butler';
import { writeSubmitFile } from './submit-file';

/** BPS's own default numberOfRetries, when the campaign sets no retries.count. */
const BPS_RETRIES = 5;

export interface BpsOptions {
  wsRoot: string;
  print: (line: string) => void;
  signal?: AbortSignal;
  pollSeconds: number;
}

/** Whether a stage runs as a BPS workflow (a Rubin campaign group in bps mode). */
export function isBpsStage(a: Pick<Attempt, 'inv'>): boolean {
  return a.inv.stage.config.mode === 'bps';
}

async function capture(argv: string[], cwd: string, signal?: AbortSignal): Promise<{ code: number | null; out: string; missing: boolean }> {
  const lines: string[] = [];
  const end = await runProcess(argv, { cwd, env: {}, onLine: (l) => lines.push(l), signal });
  return { code: end.code, out: lines.join('\n'), missing: end.error?.code === 'ENOENT' };
}

/** `bps status --id` exits with the run's WmsStates value. */
const STATE_OF_EXIT = new Map<number, string>([[0, 'SUCCEEDED'], [10, 'UNKNOWN'], [11, 'MISFIT'], [12, 'UNREADY'], [13, 'READY'], [14, 'PENDING'], [15, 'RUNNING'], [16, 'DELETED'], [17, 'HELD'], [19, 'FAILED'], [20, 'PRUNED']]);

/** BPS's run state (WmsStates) as an attempt's. */
function reportOf(a: Attempt, state: string, row: Record<string, string>): Report | undefined {
  const where = `bps run ${a.jobId}, log: ${a.inv.logFile}`;
  const ended = (e: Omit<Ended, 'where' | 'output'>): Report => ({ attempt: a, ended: { where, output: '', ...e } });
  switch (state) {
    case 'SUCCEEDED':
      return ended({ exitCode: 0 });
    case 'FAILED':
    case 'PRUNED':
      return ended({ exitCode: 1, why: `the BPS workflow ${state.toLowerCase()} (${row['%S'] ?? '?'}% of its jobs succeeded): bps report --id ${a.jobId}` });
    case 'DELETED':
      return ended({ state: 'cancelled', why: `the BPS workflow was deleted (bps cancel, or the WMS)` });
    case 'HELD':
      return { attempt: a, state: 'held' };
    case 'RUNNING':
      return { attempt: a, state: 'running' };
    case 'UNKNOWN':
      return undefined;
    default: // MISFIT, UNREADY, READY, PENDING
      return { attempt: a, state: 'pending' };
  }
}

/** Written before `bps submit`, removed once the record holds the run id. */
function inFlightMarker(wsRoot: string, a: Attempt): string {
  return join(absolutePath(wsRoot, a.run.outputDir), 'bps', '.submitting', `${a.stage}.json`);
}

export function bpsBackend(opts: BpsOptions): Backend {
  let lastPoll = 0;
  const log = (a: Attempt, text: string) => {
    mkdirSync(dirname(a.inv.logFile), { recursive: true });
    appendFileSync(a.inv.logFile, text.endsWith('\n') ? text : `${text}\n`);
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
  /** Run states by id: one `bps report` for all, then `--id` for those it does not list. */
  const states = async (ids: string[]) => {
    const found = new Map<string, Record<string, string>>();
    const all = await capture(['bps', 'report'], opts.wsRoot, opts.signal);
    if (all.code === 0) for (const row of parseTables(all.out)[0] ?? []) found.set(row.ID, row);
    for (const id of ids.filter((i) => !found.has(i))) {
      const one = await capture(['bps', 'report', '--id', id], opts.wsRoot, opts.signal);
      const row = one.code === 0 ? (parseTables(one.out)[0] ?? []).find((r) => r.ID === id) : undefined;
      if (row) found.set(id, row);
    }
    return found;
  };
  return {
    name: 'bps',
    submitsAhead: false,
    plans: false,
    largestNodeMB: () => Number.POSITIVE_INFINITY,
    claim: () => true,
    release: () => {},
    retriesItself: () => true,
    async submit(a) {
      const site = a.run.site ?? 'local';
      const f = writeSubmitFile(opts.wsRoot, a.run, a.stage, { site, retries: a.run.retries?.count ?? BPS_RETRIES });
      if (f.note) opts.print(`[${a.stage}] ${f.note}`);
      // A submission nx was killed during (bps submit made the workflow, the record never heard
      // of it): its marker is still there; the workflow of this payload BPS did not list before
      // it is that submission's, followed instead of submitted again.
      const marker = inFlightMarker(opts.wsRoot, a);
      const payload = `${a.run.name}_${a.stage}`;
      const listed = async () => {
        const all = await capture(['bps', 'report'], opts.wsRoot, opts.signal);
        return all.code === 0 ? (parseTables(all.out)[0] ?? []).filter((row) => row.PAYLOAD === payload).map((row) => row.ID) : [];
      };
      if (existsSync(marker)) {
        const before = (JSON.parse(readFileSync(marker, 'utf8')) as { before: string[] }).before;
        const orphan = (await listed()).find((id) => !before.includes(id));
        if (orphan) {
          log(a, `bps run ${orphan} was submitted by an nx that stopped before recording it: followed, not submitted again`);
          return { state: 'pending', jobId: orphan, backend: 'bps', script: f.text, scriptDiff: f.diff || undefined };
        }
      }
      mkdirSync(dirname(marker), { recursive: true });
      writeFileSync(marker, JSON.stringify({ before: await listed(), at: new Date().toISOString() }));
      const argv = a.inv.argv;
      const r = await capture(argv, opts.wsRoot, opts.signal);
      log(a, `$ ${shellLine(argv)}\n${r.out}`);
      if (r.missing) throw new CampaignError(`bps is not on PATH\n  fix: set up the LSST stack (setup lsst_distrib); to try without it, put the stand-ins first: export PATH=$PWD/pipelines/rubin/bin:$PATH`);
      const id = /^Run Id:\s*(\S+)/m.exec(r.out)?.[1];
      if (r.code !== 0 || !id) {
        rmSync(marker, { force: true });
        throw new CampaignError(`bps submit ${r.code !== 0 ? `exited with code ${r.code}` : 'printed no Run Id'}: ${lastLines(r.out)}\n  reproduce: ${shellLine(argv)}`);
      }
      return { state: 'pending', jobId: id, backend: 'bps', script: f.text, scriptDiff: f.diff || undefined };
    },
    async poll(active, wait) {
      const due = lastPoll + opts.pollSeconds * 1000 - Date.now();
      if (due > 0) {
        if (!wait) return [];
        await sleep(due);
      }
      lastPoll = Date.now();
      if (opts.signal?.aborted) return [];
      const rows = await states(active.map((a) => a.jobId!));
      const out: Report[] = [];
      for (const a of active) {
        const row = rows.get(a.jobId!);
        let r = row ? reportOf(a, row.STATE, row) : undefined;
        if (!r) continue;
        if ('ended' in r) {
          // bps status exits with the workflow's state (WmsStates' value, SUCCEEDED = 0): the verdict.
          const said = await capture(['bps', 'status', '--id', a.jobId!], opts.wsRoot);
          const state = said.code === null ? undefined : STATE_OF_EXIT.get(said.code);
          if (state && state !== row!.STATE) r = reportOf(a, state, row!);
          if (!r || !('ended' in r)) {
            if (r) out.push(r);
            continue;
          }
          const detail = await capture(['bps', 'report', '--id', a.jobId!], opts.wsRoot);
          log(a, detail.out);
          r.ended.output = lastLines(detail.out, 20);
        }
        out.push(r);
      }
      return out;
    },
    recorded(a) {
      rmSync(inFlightMarker(opts.wsRoot, a), { force: true });
    },
    async cancel(attempts) {
      for (const a of attempts) {
        if (!a.jobId) continue;
        const r = await capture(['bps', 'cancel', '--id', a.jobId], opts.wsRoot);
        log(a, `$ bps cancel --id ${a.jobId}\n${r.out}`);
      }
    },
    async reattach(earlier) {
      const recorded = earlier.flatMap((e) => (e.jobId ? [{ attempt: e.attempt, jobId: e.jobId }] : []));
      const rows = await states(recorded.map((e) => e.jobId));
      const out = new Map<string, Reattached>();
      for (const { attempt, jobId } of recorded) {
        const row = rows.get(jobId);
        out.set(attempt.key, row ? { adopt: true, jobId, unrecorded: false } : { adopt: false, state: 'failed', why: `BPS does not know run ${jobId} any more` });
      }
      return out;
    },
  };
}
