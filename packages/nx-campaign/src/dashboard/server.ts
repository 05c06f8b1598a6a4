/**
 * `campaign serve`: a read-only web dashboard over the campaign record. Hono routes, pages
 * rendered on the server from Handlebars templates (web/views), htmx on the page re-fetching a
 * fragment when the server-sent `change` event says the record moved (PRAGMA data_version,
 * checked every 500 ms). Nothing from a request reaches the file system: runs, stages and
 * attempts are looked up in the record and a log is read from the path the record holds.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import { readOnlyRecord, type AttemptRow } from '../store/record';
import { attemptLogPath, listRuns, runOverview, stageAttempts, stagePage, stageRows, STATE_COLUMNS, type Counts, type GroupRow } from '../store/overview';
import { formatElapsed } from '../format/quantities';
import { whyRows } from '../commands/why';
import { dagNodes, dagSvg, ganttPlannedActual, STATE_COLOURS } from './charts';

/** The package's web/ folder: templates and the page's own stylesheet and script. */
const WEB = join(__dirname, '..', '..', 'web');
const PAGE_SIZE = 100;
const LOG_TAIL = 200;
/** Bytes of a log read at most for a page (its end); the download sends it whole. */
const LOG_WINDOW = 2 * 1024 * 1024;

export interface ServeOptions {
  wsRoot: string;
  host: string;
  port: number;
  /** Required for any host but the loopback one; generated when not given. */
  token?: string;
  env?: NodeJS.ProcessEnv;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Static files served by name: the only files besides logs the server reads. */
function assets(): Map<string, { type: string; body: Buffer }> {
  const resolve = (id: string) => require.resolve(id);
  return new Map([
    ['app.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(WEB, 'static', 'app.css')) }],
    ['app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(WEB, 'static', 'app.js')) }],
    ['htmx.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(resolve('htmx.org/dist/htmx.min.js')) }],
    ['sse.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(resolve('htmx-ext-sse/dist/sse.min.js')) }],
  ]);
}

function templates(): Record<string, HandlebarsTemplateDelegate> {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('urlenc', (s: string) => encodeURIComponent(s));
  hb.registerHelper('elapsed', (s: number | null) => (s === null || s === undefined ? '' : formatElapsed(s)));
  hb.registerHelper('time', (s: string | null) => (s ? s.replace('T', ' ').slice(0, 19) : ''));
  hb.registerHelper('mb', (n: number | null) => (n === null || n === undefined ? '' : n >= 1024 ? `${(n / 1024).toFixed(1)} GB` : `${n < 10 ? n.toFixed(1) : Math.round(n)} MB`));
  hb.registerHelper('colour', (s: string) => STATE_COLOURS[s] ?? '#999');
  hb.registerHelper('raw', (s: string) => new hb.SafeString(s));
  const dir = join(WEB, 'views');
  for (const p of ['layout', 'runs', 'run', 'stage']) hb.registerPartial(p, readFileSync(join(dir, `${p}.hbs`), 'utf8'));
  const page = (body: string) => hb.compile(`{{#> layout}}{{> ${body}}}{{/layout}}`);
  return { runsPage: page('runs'), runPage: page('run'), stagePage: page('stage'), runs: hb.compile('{{> runs}}'), run: hb.compile('{{> run}}'), stage: hb.compile('{{> stage}}'), log: hb.compile(readFileSync(join(dir, 'log.hbs'), 'utf8')) };
}

/** The columns of a counts table that have a count, plus SUCCEEDED and FAILED always. */
function columnsOf(rows: { counts: Counts }[]): { state: string; head: string }[] {
  return STATE_COLUMNS.filter(([s]) => s === 'succeeded' || s === 'failed' || rows.some((r) => (r.counts[s] ?? 0) > 0)).map(([state, head]) => ({ state, head }));
}

function tableRows(rows: GroupRow[], cols: { state: string }[]) {
  return rows.map((r) => ({ group: r.group, expected: r.expected, cells: cols.map((c) => r.counts[c.state as keyof Counts] ?? 0) }));
}

/** The last `lines` lines of a file (reading at most its last LOG_WINDOW bytes), or those matching `q`. */
function readLog(path: string, o: { lines: number; q?: string }): { lines: { n: number; text: string }[]; total: number; truncated: boolean } {
  const size = statSync(path).size;
  const from = Math.max(0, size - LOG_WINDOW);
  const buf = Buffer.alloc(size - from);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const all = buf.toString('utf8').split('\n');
  if (all.at(-1) === '') all.pop();
  const numbered = all.map((text, i) => ({ n: i + 1, text }));
  const q = o.q?.toLowerCase();
  const kept = q ? numbered.filter((l) => l.text.toLowerCase().includes(q)) : numbered;
  return { lines: kept.slice(-o.lines), total: all.length, truncated: from > 0 };
}

function tail(path: string | null, n: number): string[] | undefined {
  if (!path || !existsSync(path)) return undefined;
  return readLog(path, { lines: n }).lines.map((l) => l.text);
}

export function dashboard(o: ServeOptions): { app: Hono; token?: string; close: () => void } {
  const env = o.env ?? process.env;
  const token = LOOPBACK.has(o.host) ? o.token : (o.token ?? randomBytes(18).toString('base64url'));
  const db = readOnlyRecord(o.wsRoot, env);
  const view = templates();
  const files = assets();
  const app = new Hono();
  const listeners = new Set<() => void>();
  let version = db.pragma('data_version', { simple: true }) as number;
  const watch = setInterval(() => {
    const v = db.pragma('data_version', { simple: true }) as number;
    if (v === version) return;
    version = v;
    for (const l of listeners) l();
  }, 500);
  watch.unref();

  app.use('*', secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'"], connectSrc: ["'self'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"] },
    referrerPolicy: 'no-referrer',
  }));
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.text('405: this dashboard only reads the record\n', 405);
    // On the loopback address, refuse other Host names (DNS rebinding: a web page naming itself localhost).
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!token && !LOOPBACK.has(host)) return c.text('403: this dashboard answers on localhost only\n', 403);
    if (token) {
      const given = c.req.query('token') ?? getCookie(c, 'nx_campaign_token') ?? c.req.header('authorization')?.replace(/^Bearer /, '');
      const ok = given !== undefined && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
      if (!ok) return c.text('401: this dashboard needs its token: open the address campaign serve printed (…/?token=…)\n', 401);
      if (c.req.query('token')) setCookie(c, 'nx_campaign_token', token, { httpOnly: true, sameSite: 'Strict', path: '/' });
    }
    await next();
  });

  const site = (c: Context) => c.req.query('site') || undefined;
  const common = (c: Context, title: string) => ({ title, site: site(c), siteQuery: site(c) ? `?site=${encodeURIComponent(site(c)!)}` : '', siteAmp: site(c) ? `&site=${encodeURIComponent(site(c)!)}` : '' });

  const runsModel = (c: Context) => {
    const all = c.req.query('all') === '1';
    const { runs, hidden } = listRuns(db, { all, site: site(c) });
    const sites = [...new Set(listRuns(db, { all: true }).runs.map((r) => r.site).filter((s): s is string => !!s))].sort();
    const cols = columnsOf(runs);
    return {
      ...common(c, 'campaigns and runs'),
      all,
      hidden,
      sites: sites.map((s) => ({ name: s, current: s === site(c) })),
      cols,
      runs: runs.map((r) => ({ ...r, running: r.state === 'active', cells: cols.map((col) => r.counts[col.state as keyof Counts] ?? 0), bar: barOf(r.counts, r.expected) })),
      fragment: `/fragments/runs?${new URLSearchParams({ ...(all ? { all: '1' } : {}), ...(site(c) ? { site: site(c)! } : {}) })}`,
    };
  };

  const runModel = (c: Context, name: string) => {
    const ov = runOverview(db, name);
    if (!ov) return undefined;
    const s = site(c);
    const base = { ...common(c, `run ${name}`), name, enc: encodeURIComponent(name), fragment: `/fragments/runs/${encodeURIComponent(name)}${new URL(c.req.url).search}` };
    if (s && ov.run.site !== s) return { ...base, run: ov.run, otherSite: true };
    const cols = columnsOf([...ov.groups, ov.total]);
    const state = c.req.query('state') || undefined;
    const offset = Math.max(0, Number.parseInt(c.req.query('offset') ?? '0', 10) || 0);
    const rows = stageRows(db, ov);
    const page = stagePage(rows, { offset, limit: PAGE_SIZE, state });
    const stateOf = new Map(rows.map((r) => [r.stage, r]));
    const { nodes, collapsed } = dagNodes(ov.stages, (st) => stateOf.get(st)?.state ?? 'unready');
    const actual = [...stateOf.values()].filter((r) => r.state !== 'unready').map((r) => ({ stage: r.stage, state: r.state as AttemptRow['state'], startedAt: r.startedAt, endedAt: r.endedAt }));
    const q = (extra: Record<string, string>) => `?${new URLSearchParams({ ...(s ? { site: s } : {}), ...(state ? { state } : {}), ...extra })}`;
    return {
      ...base,
      run: ov.run,
      running: ov.run.state === 'active',
      cols,
      groups: tableRows(ov.groups, cols),
      total: tableRows([ov.total], cols)[0],
      grouped: ov.groups.length > 1 || ov.groups[0]?.group !== ov.stages[0]?.pipeline,
      failureClasses: ov.failureClasses,
      failures: ov.failures.map((f) => ({ ...f, attempts: f.attempts.map((a) => ({ ...a, enc: encodeURIComponent(a.stage), tail: tail(a.log_path, 8) })) })),
      live: ov.running.map((a) => ({ ...a, enc: encodeURIComponent(a.stage), elapsedS: a.started_at ? (Date.now() - Date.parse(a.started_at)) / 1000 : null })),
      stages: page.rows.map((r) => ({ ...r, enc: encodeURIComponent(r.stage) })),
      page: { from: page.total ? offset + 1 : 0, to: offset + page.rows.length, total: page.total, prev: offset > 0 ? q({ offset: String(Math.max(0, offset - PAGE_SIZE)) }) : undefined, next: offset + PAGE_SIZE < page.total ? q({ offset: String(offset + PAGE_SIZE) }) : undefined },
      stateFilters: [{ label: 'all', href: `?${new URLSearchParams(s ? { site: s } : {})}`, current: !state }, ...cols.map((col) => ({ label: col.head, href: `?${new URLSearchParams({ ...(s ? { site: s } : {}), state: col.state })}`, current: state === col.state }))],
      dag: dagSvg(nodes),
      dagCollapsed: collapsed,
      gantt: ganttPlannedActual(ov.stages, actual),
      planned: ov.stages.some((x) => x.planned),
    };
  };

  const stageModel = (c: Context, name: string, stage: string) => {
    const ov = runOverview(db, name, 0);
    if (!ov) return undefined;
    const attempts = stageAttempts(db, name, stage);
    const summary = ov.stages.find((x) => x.name === stage);
    if (!summary && !attempts.length) return undefined;
    const s = site(c);
    const base = { ...common(c, `${name} / ${stage}`), name, enc: encodeURIComponent(name), stage, stageEnc: encodeURIComponent(stage), fragment: `/fragments/runs/${encodeURIComponent(name)}/stages/${encodeURIComponent(stage)}${s ? `?site=${encodeURIComponent(s)}` : ''}` };
    if (s && ov.run.site !== s) return { ...base, run: ov.run, otherSite: true };
    const latest = attempts.at(-1);
    const children = ov.stages.filter((x) => x.parents.includes(stage)).map((x) => ({ name: x.name, enc: encodeURIComponent(x.name) }));
    return {
      ...base,
      run: ov.run,
      summary,
      parents: (summary?.parents ?? []).map((p) => ({ name: p, enc: encodeURIComponent(p) })),
      children,
      attempts: [...attempts].reverse().map((a) => ({ ...a, logExists: !!a.log_path && existsSync(a.log_path) })),
      latest,
      now: verdictNow(o.wsRoot, name, stage),
      log: latest?.log_path && existsSync(latest.log_path) ? readLog(latest.log_path, { lines: LOG_TAIL }) : undefined,
    };
  };

  const html = (c: Context, body: string, status = 200) => c.html(body, status as 200);
  const notFound = (c: Context, what: string) => html(c, view.runsPage({ title: 'not found', notFound: what }), 404);

  app.get('/', (c) => html(c, view.runsPage(runsModel(c))));
  app.get('/fragments/runs', (c) => html(c, view.runs(runsModel(c))));
  app.get('/runs/:run', (c) => {
    const m = runModel(c, c.req.param('run'));
    return m ? html(c, view.runPage(m)) : notFound(c, `run ${c.req.param('run')} is not in the record`);
  });
  app.get('/fragments/runs/:run', (c) => {
    const m = runModel(c, c.req.param('run'));
    return m ? html(c, view.run(m)) : c.text('not found', 404);
  });
  app.get('/runs/:run/stages/:stage', (c) => {
    const m = stageModel(c, c.req.param('run'), c.req.param('stage'));
    return m ? html(c, view.stagePage(m)) : notFound(c, `${c.req.param('run')}/${c.req.param('stage')} is not in the record`);
  });
  app.get('/fragments/runs/:run/stages/:stage', (c) => {
    const m = stageModel(c, c.req.param('run'), c.req.param('stage'));
    return m ? html(c, view.stage(m)) : c.text('not found', 404);
  });
  app.get('/runs/:run/stages/:stage/attempts/:n/log', (c) => {
    const { run, stage } = c.req.param();
    const n = /^\d{1,6}$/.test(c.req.param('n')) ? Number(c.req.param('n')) : undefined;
    const path = n === undefined ? undefined : attemptLogPath(db, run, stage, n);
    if (!path) return c.text(`no log is recorded for ${run}/${stage} attempt ${c.req.param('n')}\n`, 404);
    if (!existsSync(path)) return c.text(`the log ${path} no longer exists (removed, or archived by campaign clean)\n`, 410);
    if (c.req.query('download') === '1') {
      c.header('content-disposition', `attachment; filename="${`${stage}.${n}.log`.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
      return c.body(new Uint8Array(readFileSync(path)), 200, { 'content-type': 'text/plain; charset=utf-8' });
    }
    const q = c.req.query('q') || undefined;
    const lines = Math.min(100_000, Math.max(1, Number.parseInt(c.req.query('lines') ?? String(LOG_TAIL), 10) || LOG_TAIL));
    return html(c, view.log({ title: `${run}/${stage} attempt ${n}`, run, enc: encodeURIComponent(run), stage, stageEnc: encodeURIComponent(stage), n, q, path, ...readLog(path, { lines, q }) }));
  });
  app.get('/static/:name', (c) => {
    const f = files.get(c.req.param('name'));
    if (!f) return c.text('not found', 404);
    return c.body(new Uint8Array(f.body), 200, { 'content-type': f.type, 'cache-control': 'no-cache' });
  });
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      let changed = false;
      const l = () => {
        changed = true;
        wake?.();
      };
      listeners.add(l);
      stream.onAbort(() => {
        listeners.delete(l);
        wake?.();
      });
      await stream.writeSSE({ event: 'hello', data: String(version) });
      while (!stream.aborted) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 15_000); // a comment now and then keeps proxies from closing it
        });
        if (stream.aborted) break;
        if (changed) {
          changed = false;
          await stream.writeSSE({ event: 'change', data: String(version) });
        } else await stream.write(': keep-alive\n\n');
      }
      listeners.delete(l);
    }),
  );
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.notFound((c) => c.text('not found\n', 404));

  return {
    app,
    token,
    close: () => {
      clearInterval(watch);
      db.close();
    },
  };
}

/** What `campaign why` says of the stage today; undefined when its run's files no longer load. */
function verdictNow(wsRoot: string, run: string, stage: string): { verdict: string; why: string } | undefined {
  try {
    const row = whyRows(wsRoot, run, stage).rows[0];
    return row && { verdict: row.verdict === 'runs' ? 'runs on the next nx run-many' : 'cached', why: row.why };
  } catch {
    return undefined;
  }
}

/** Widths (percent) of a progress bar's segments by state. */
function barOf(counts: Counts, expected: number): { state: string; x: string; width: string; n: number }[] {
  const total = Math.max(expected, Object.values(counts).reduce((a, b) => a + (b ?? 0), 0), 1);
  let x = 0;
  return STATE_COLUMNS.flatMap(([s]) => {
    const n = counts[s] ?? 0;
    if (!n || s === 'unready') return [];
    const seg = { state: s, x: x.toFixed(2), width: ((100 * n) / total).toFixed(2), n };
    x += (100 * n) / total;
    return [seg];
  });
}
