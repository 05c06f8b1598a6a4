/**
 * `campaign watch [<run>] [--site S]`: the dashboard's overview in the terminal, redrawn every few
 * seconds until the run ends (or, for all runs, until none is running) or the user quits. When
 * stdout is not a terminal, a line is appended each time something changed instead.
 */
import { existsSync } from 'node:fs';
import { CampaignError } from '../format/errors';
import { formatElapsed } from '../format/quantities';
import { listRuns, runOverview, STATE_COLUMNS, type Counts, type RunOverview } from '../store/overview';
import { readOnlyRecord, recordPath } from '../store/record';
import { runNameArg } from './record-commands';

export interface WatchOptions {
  run?: string;
  site?: string;
  intervalSeconds?: number;
  /** A terminal: redraw in place; otherwise append lines on change. */
  tty: boolean;
  write: (text: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

function countsText(c: Counts, expected?: number): string {
  const parts = STATE_COLUMNS.flatMap(([s]) => ((c[s] ?? 0) > 0 ? [`${c[s]} ${s}`] : []));
  return `${parts.join(', ') || 'nothing yet'}${expected !== undefined ? ` of ${expected}` : ''}`;
}

/** One screen of a run: its state, counts per group, what runs now, the latest failures. */
export function runScreen(o: RunOverview, now = Date.now()): string {
  const r = o.run;
  const lines = [`run ${r.name} (version ${r.version}, site ${r.site ?? '?'}, backend ${r.backend ?? '?'}): ${r.state === 'active' ? `running (pid ${r.pid} on ${r.host})` : r.state}`];
  const w = Math.max(5, ...o.groups.map((g) => g.group.length));
  for (const g of [...o.groups, o.total]) lines.push(`  ${g.group.padEnd(w)}  ${countsText(g.counts, g.expected)}`);
  if (o.running.length) {
    lines.push('running and queued:');
    for (const a of o.running.slice(0, 15)) lines.push(`  ${a.stage}  ${a.state}${a.wait_reason ? ` (${a.wait_reason})` : ''}${a.job_id ? `  job ${a.job_id}` : ''}${a.started_at ? `  ${formatElapsed((now - Date.parse(a.started_at)) / 1000)}` : ''}`);
    if (o.running.length > 15) lines.push(`  ... and ${o.running.length - 15} more`);
  }
  const failed = o.failures.flatMap((f) => f.attempts.map((a) => ({ f, a }))).sort((x, y) => (y.a.ended_at ?? '').localeCompare(x.a.ended_at ?? '')).slice(0, 5);
  if (failed.length) {
    lines.push('latest failures:');
    for (const { f, a } of failed) lines.push(`  ${a.stage}: ${f.cause}${a.log_path ? `  log: ${a.log_path}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs until the watched run (or every run) is no longer active, or `signal` aborts. */
export async function watch(wsRoot: string, o: WatchOptions): Promise<void> {
  const path = recordPath(wsRoot, o.env ?? process.env);
  if (!existsSync(path)) throw new CampaignError('nothing recorded yet in this workspace (no .campaign/record.sqlite, or none at NX_CAMPAIGN_RECORD)\n  fix: start a run first: npx nx run-many -t stage --projects=tag:run:<run>');
  const db = readOnlyRecord(wsRoot, o.env ?? process.env);
  const name = o.run && runNameArg(o.run);
  const interval = (o.intervalSeconds ?? 2) * 1000;
  let last = '';
  try {
    for (;;) {
      let screen: string;
      let active: boolean;
      if (name) {
        const ov = runOverview(db, name);
        if (!ov) throw new CampaignError(`run ${name} is not in the record\n  fix: campaign status --all lists the recorded runs`);
        if (o.site && ov.run.site !== o.site) throw new CampaignError(`run ${name} ran on site ${ov.run.site}, not ${o.site}`);
        screen = runScreen(ov);
        active = ov.run.state === 'active';
      } else {
        const { runs } = listRuns(db, { site: o.site });
        screen = runs.length ? `${runs.map((r) => `${r.name}  ${r.state === 'active' ? 'running' : r.state}  ${countsText(r.counts, r.expected)}`).join('\n')}\n` : `no running or recent run${o.site ? ` on site ${o.site}` : ''}\n`;
        active = runs.some((r) => r.state === 'active');
      }
      if (o.tty) o.write(`\x1b[H\x1b[2J${new Date().toISOString().slice(11, 19)}  campaign watch${name ? ` ${name}` : ''} (Ctrl-C quits)\n${screen}`);
      else if (screen !== last) o.write(`--- ${new Date().toISOString()}\n${screen}`);
      last = screen;
      if (!active || o.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, interval);
        o.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (o.signal?.aborted) return;
    }
  } finally {
    db.close();
  }
}
