#!/usr/bin/env node
// The dashboard at scale: a record holding one run of N stage instances (default 10,000; 90%
// attempted, a tenth of those failed, some retried), and the time to render its pages through the
// server's own request handler (no network), against a baseline measured in the same run: the
// one-shot `campaign report --json` logic on the same record (reportRows, which loads the run).
//
//   node tools/bench-dashboard.mjs [--stages N] [--repeat R]
//
// Prints medians, samples and ratios; target: the run overview page under 1 s. Figures, not
// asserts. Needs the plugin built (`npm run build`).
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', 'packages', 'nx-campaign', 'dist');
const require = createRequire(import.meta.url);
const { loadRun } = require(join(dist, 'config', 'run.js'));
const { CampaignRecord, runFiles } = require(join(dist, 'store', 'record.js'));
const { stageSummaries } = require(join(dist, 'store', 'recorder.js'));
const { dashboard } = require(join(dist, 'dashboard', 'server.js'));
const { reportRows } = require(join(dist, 'commands', 'record-commands.js'));

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('--stages', 10_000);
const R = arg('--repeat', 5);

const ws = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-dashboard-'));
try {
  const stage = (name, deps) => `  ${name}:\n    executable: "true"\n    depends: ${deps}\n    resources: {memory: 100M, runtime: 1m}\n`;
  const body = [stage('prep', 'null'), ...Array.from({ length: N - 2 }, (_, i) => stage(`split${i}`, '[prep]')), stage('final', `[${Array.from({ length: N - 2 }, (_, i) => `split${i}`).join(', ')}]`)].join('');
  mkdirSync(join(ws, 'pipelines', 'big'), { recursive: true });
  mkdirSync(join(ws, 'runs'));
  writeFileSync(join(ws, 'nx.json'), '{}');
  writeFileSync(join(ws, 'pipelines', 'big', 'pipeline.yaml'), `stages:\n${body}`);
  writeFileSync(join(ws, 'runs', 'big.yaml'), 'pipelines: big\nsite: local\n');
  let t = performance.now();
  const run = loadRun(ws, 'runs/big.yaml');
  const loadMs = performance.now() - t;
  const rec = CampaignRecord.open(ws, {});
  const v = rec.beginInvocation(run, runFiles(ws, run), { site: 'local', backend: 'local', stages: stageSummaries(ws, run) });
  rec.db.transaction(() => {
    for (let i = 0; i < Math.floor(N * 0.9); i++) {
      const s = run.stages[i];
      if (i % 50 === 0) rec.endAttempt(rec.startAttempt(v, { stage: s, pipeline: 'big', backend: 'local', configHash: 'h', state: 'running' }), { state: 'out-of-memory', exitCode: 137 });
      const id = rec.startAttempt(v, { stage: s, pipeline: 'big', backend: 'local', configHash: 'h', state: 'running', logPath: join(ws, 'logs', `${s}.log`) });
      rec.endAttempt(id, i % 10 === 3 ? { state: 'failed', exitCode: 1, message: 'exited with code 1' } : { state: 'succeeded', exitCode: 0 });
    }
  })();
  rec.close();
  const d = dashboard({ wsRoot: ws, host: '127.0.0.1', port: 0 });
  const time = async (fn) => {
    const xs = [];
    for (let i = 0; i < R; i++) {
      const t0 = performance.now();
      await fn();
      xs.push(performance.now() - t0);
    }
    xs.sort((a, b) => a - b);
    return { median: xs[Math.floor(xs.length / 2)], xs };
  };
  const page = (path) => async () => {
    const r = await d.app.request(path, { headers: { host: '127.0.0.1' } });
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    await r.text();
  };
  const baseline = await time(() => reportRows(ws, 'big'));
  const rows = [
    ['campaign report (baseline: loads the run, reads the record)', baseline],
    ['GET / (runs, counts in SQL)', await time(page('/'))],
    ['GET /runs/big (overview: counts, failures, DAG collapsed, Gantt, a page of stages)', await time(page('/runs/big'))],
    ['GET /runs/big?state=failed&offset=500 (a later page, filtered)', await time(page('/runs/big?state=failed&offset=500'))],
    ['GET /runs/big/stages/split4999 (a stage)', await time(page('/runs/big/stages/split4999'))],
  ];
  d.close();
  const fmt = (ms) => `${ms.toFixed(0)} ms`;
  console.log(`dashboard, one run of ${N} stages (${Math.floor(N * 0.9)} attempted; run file loads in ${fmt(loadMs)}); ${R} samples each, ${new Date().toISOString().slice(0, 10)}`);
  for (const [what, m] of rows) console.log(`  ${what.padEnd(86)} median ${fmt(m.median).padStart(8)}  ratio to baseline ${(m.median / baseline.median).toFixed(2)}  [${m.xs.map((x) => x.toFixed(0)).join(', ')}]`);
  const overview = rows[2][1].median;
  console.log(`target: the overview under 1000 ms: ${overview < 1000 ? 'OK' : 'OVER'} (${fmt(overview)})`);
} finally {
  rmSync(ws, { recursive: true, force: true });
}
