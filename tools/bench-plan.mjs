#!/usr/bin/env node
// Planning benchmark: nx-campaign's HEFT planner against socm's planner, on synthetic campaigns
// and WfCommons workflows.
//
//   npm run build && node tools/bench-plan.mjs [--quick] [--repeat N]
//
// Cases: tools/bench/dags.mjs (SO null-test fan-outs, layered random DAGs of 20-10,000 stages
// on 500 nodes and contended ones on 50-100 nodes, memory-bound sets, a long chain with side
// branches, a Rubin-like multi-step campaign, a site with two node classes) and every WfCommons
// instance in tools/bench/data/ (three tiny hand-made ones ship there; drop real instances from
// wfcommons.org beside them, see tools/bench/data/README.md).
// For each case: tasks, nodes, planning time of planHeft (median of the repeats, with the
// range), makespan, lower bound, makespan / lower bound for HEFT and two socm baselines
// (tools/bench/socm-baseline.mjs): "socm", socm's order and core-reuse rule on real nodes, the
// baseline HEFT must not lose to; "socm flat", socm exactly as it plans, on one pool of cores
// and one pool of memory, which is optimistic because such a plan need not fit the nodes.
// Every HEFT plan is checked here, independently of the planner: every task placed once on
// existing nodes of the right count and size, no node over its cores or memory at any instant,
// dependencies finished before a task starts, durations at least runtime / speed; also the
// planner's own makespan, lower bound, critical path and ranks, whether it changed its input
// and whether repeats agree. The lower bound is computed here too (max of critical path,
// core-time / cores, memory-time / memory, longest task) and compared with the planner's.
// planHeft runs in a worker thread with a 30 s limit per case, so a planner that hangs costs
// one case. Before each case the run waits briefly for idle cores ("busy" = how busy they were).
// Targets (printed OK / OVER): mean HEFT makespan / lower bound <= 1.10 over the cases; HEFT
// never worse than the socm baseline; planning 10,000 stages on 500 nodes < 2 s; 1,000 < 0.2 s.
// Figures, not asserts: the exit code is 1 only when a HEFT plan is invalid, the planner throws
// or hangs, 2 when the planner is not built (the baselines and bounds are still printed).
//   --quick     1 repeat and no 10,000-stage cases: a smoke run (seconds)
//   --repeat N  timed planHeft calls per case (default 5; 3 for cases over 5,000 tasks; a case
//               whose first call takes over 5 s is not repeated)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { allCases } from './bench/dags.mjs';
import { dagLevels, fitOn, planSocmBaseline, planSocmOnNodes } from './bench/socm-baseline.mjs';
import { settle } from './bench/measure.mjs';
import { loadWfCommons } from './bench/wfcommons.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const heftPath = join(repoRoot, 'packages', 'nx-campaign', 'dist', 'planning', 'heft.js');
const dataDir = join(here, 'bench', 'data');
const TARGET = { meanRatio: 1.1, plan10k: 2.0, plan1k: 0.2 };
const EPS = 1e-6; // seconds; float noise allowed when comparing instants

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = { quick: false, repeat: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--repeat' || a.startsWith('--repeat=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      o.repeat = Number(v);
      if (!Number.isInteger(o.repeat) || o.repeat < 1) usage('--repeat takes a whole number >= 1');
    } else if (a === '-h' || a === '--help') usage();
    else usage(`unknown option ${a}`);
  }
  return o;
}

function usage(problem) {
  if (problem) console.error(`bench-plan: ${problem}\n`);
  (problem ? console.error : console.log)('usage: node tools/bench-plan.mjs [--quick] [--repeat N]   (after npm run build)');
  process.exit(problem ? 2 : 0);
}

// ------------------------------------------------------------------ formatting

const log = (s = '') => console.log(s);
const verdict = (ok) => (ok ? 'OK' : 'OVER');
function fmtDur(s) {
  if (!Number.isFinite(s)) return String(s);
  if (s < 120) return `${s.toFixed(1)}s`;
  if (s < 7200) return `${(s / 60).toFixed(1)}m`;
  return `${(s / 3600).toFixed(2)}h`;
}
const few = (xs, n = 4) => (xs.length > n ? `${xs.slice(0, n).join('; ')}; +${xs.length - n} more` : xs.join('; '));
const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function table(rows, header) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  log(line(header));
  log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) log(line(r));
}

// ------------------------------------------------------------------ lower bound (ours)

/**
 * max(critical path, core-time / cores, memory-time / memory, longest task). A task's duration
 * is its runtime on the fastest class it fits (threads, memory, node count); its core-time and
 * memory-time are the least it occupies on any class it fits (ranks x threads cores, memory x
 * fewest nodes, for runtime / speed), against the site's total cores and memory: whatever the
 * placement, the occupied area fits in makespan x capacity.
 */
function lowerBound(tasks, classes) {
  const { order, index } = dagLevels(tasks);
  const totalCores = classes.reduce((s, c) => s + c.count * c.coresPerNode, 0);
  const totalMemory = classes.reduce((s, c) => s + c.count * c.memoryMBPerNode, 0);
  const finish = new Float64Array(tasks.length);
  let cp = 0;
  let coreTime = 0;
  let memTime = 0;
  let longest = 0;
  for (const i of order) {
    const t = tasks[i];
    let w = Infinity;
    let cores = Infinity;
    let mem = Infinity;
    for (const c of classes) {
      const f = fitOn(t, c);
      if (!f) continue;
      const d = t.runtimeSeconds / c.speed;
      w = Math.min(w, d);
      cores = Math.min(cores, t.ranks * t.threads * d);
      mem = Math.min(mem, t.memoryMBPerNode * f.nodes * d);
    }
    if (w === Infinity) throw new Error(`task ${t.id} fits no node class`);
    let s = 0;
    for (const d of t.deps) s = Math.max(s, finish[index.get(d)]);
    finish[i] = s + w;
    cp = Math.max(cp, finish[i]);
    longest = Math.max(longest, w);
    coreTime += cores;
    memTime += mem;
  }
  const parts = { criticalPath: cp, coreTime: coreTime / totalCores, memoryTime: totalMemory > 0 ? memTime / totalMemory : 0, longestTask: longest };
  return { value: Math.max(...Object.values(parts)), parts, packing: packingBound(tasks, classes) };
}

/**
 * Not part of the target's bound, printed beside it where it is higher: on a one-class site at
 * most k tasks that each hold more than 1/(k+1) of a node's cores (or memory) share a node, so
 * those tasks' node-seconds / (k x nodes) is a bound too (for k = 1..8; tasks on the fewest
 * nodes that hold their ranks, as planners place them). The standard bound misses this where
 * tasks are large next to a node (600 GB on 1 TB nodes, three 32-thread jobs per 112 cores).
 */
function packingBound(tasks, classes) {
  if (classes.length !== 1) return 0;
  const c = classes[0];
  const feet = tasks.map((t) => fitOn(t, c));
  let best = 0;
  for (let k = 1; k <= 8; k++) {
    let cores = 0;
    let mem = 0;
    tasks.forEach((t, i) => {
      const area = feet[i].nodes * (t.runtimeSeconds / c.speed);
      if (feet[i].coresPerNode * (k + 1) > c.coresPerNode) cores += area;
      if (t.memoryMBPerNode * (k + 1) > c.memoryMBPerNode) mem += area;
    });
    best = Math.max(best, cores / (k * c.count), mem / (k * c.count));
  }
  return best;
}

// ------------------------------------------------------------------ plan checker

/**
 * Check a Plan against its input, trusting nothing the planner computed. Returns
 * { errors, errorCount, warnings, makespan } (makespan = the latest end, as placed).
 */
function checkPlan(plan, tasks, classes, { self = true } = {}) {
  const errors = [];
  let errorCount = 0;
  const warnings = [];
  const perKind = new Map();
  // at most 3 examples of each kind of error, so one flood does not hide the others
  const err = (kind, s) => {
    errorCount++;
    const n = perKind.get(kind) ?? 0;
    perKind.set(kind, n + 1);
    if (n < 3) errors.push(s);
  };
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const classByName = new Map(classes.map((c) => [c.name, c]));
  if (!plan || !Array.isArray(plan.placements)) return { errors: ['plan has no placements array'], errorCount: 1, warnings, makespan: NaN };

  const placed = new Map();
  const perNode = new Map(); // node id -> [start, end, cores, memory]
  const usedIndex = new Map(); // class -> Set of indices seen
  let makespan = 0;
  let stretched = 0;
  let heldIdle = 0; // core-seconds held beyond ranks x threads
  let heldIdleTasks = 0;
  let heldUsed = 0;
  for (const p of plan.placements) {
    const t = byId.get(p.id);
    if (!t) {
      err('unknown', `placement for unknown task ${p.id}`);
      continue;
    }
    if (placed.has(p.id)) {
      err('twice', `task ${p.id} placed twice`);
      continue;
    }
    placed.set(p.id, p);
    if (![p.start, p.end, p.coresPerNode, p.memoryMBPerNode].every(Number.isFinite)) {
      err('finite', `task ${p.id}: non-finite start/end/cores/memory (${p.start}, ${p.end}, ${p.coresPerNode}, ${p.memoryMBPerNode})`);
      continue;
    }
    if (p.start < -EPS) err('negative', `task ${p.id} starts before 0 (${p.start})`);
    makespan = Math.max(makespan, p.end);
    if (!Array.isArray(p.nodes) || p.nodes.length === 0) {
      err('nodes', `task ${p.id}: no nodes`);
      continue;
    }
    if (new Set(p.nodes).size !== p.nodes.length) err('nodes', `task ${p.id}: the same node listed twice (${p.nodes.join(',')})`);
    if (t.nodes !== undefined && p.nodes.length !== t.nodes) err('nodes', `task ${p.id}: asked for ${t.nodes} nodes, placed on ${p.nodes.length}`);
    let minSpeed = Infinity;
    let ok = true;
    for (const n of p.nodes) {
      const dash = String(n).lastIndexOf('-');
      const cls = classByName.get(String(n).slice(0, dash));
      const idxText = String(n).slice(dash + 1);
      const idx = Number(idxText);
      if (dash < 0 || !cls || !/^\d+$/.test(idxText) || idx > cls.count) {
        err('node-id', `task ${p.id}: node ${n} does not exist`);
        ok = false;
        continue;
      }
      if (!usedIndex.has(cls.name)) usedIndex.set(cls.name, new Set());
      usedIndex.get(cls.name).add(idx);
      minSpeed = Math.min(minSpeed, cls.speed);
      if (p.coresPerNode > cls.coresPerNode) err('size', `task ${p.id}: ${p.coresPerNode} cores per node on ${n} (${cls.coresPerNode} there)`);
      if (p.memoryMBPerNode > cls.memoryMBPerNode) err('size', `task ${p.id}: ${p.memoryMBPerNode} MB per node on ${n} (${cls.memoryMBPerNode} there)`);
    }
    if (!ok) continue;
    if (p.memoryMBPerNode < t.memoryMBPerNode) err('size', `task ${p.id}: holds ${p.memoryMBPerNode} MB per node, needs ${t.memoryMBPerNode}`);
    const ranksHeld = Math.floor(p.coresPerNode / t.threads) * p.nodes.length;
    if (ranksHeld < t.ranks) err('size', `task ${p.id}: ${t.ranks} ranks x ${t.threads} threads do not fit ${p.nodes.length} node(s) x ${p.coresPerNode} cores`);
    const need = t.runtimeSeconds / minSpeed;
    const dur = p.end - p.start;
    const spare = p.coresPerNode * p.nodes.length - t.ranks * t.threads;
    if (spare > 0) {
      heldIdle += spare * dur;
      heldIdleTasks++;
    }
    heldUsed += t.ranks * t.threads * dur;
    if (dur < need * (1 - 1e-9) - EPS) err('duration', `task ${p.id}: runs ${dur}s, needs ${need}s at speed ${minSpeed}`);
    else if (dur > need * (1 + 1e-9) + EPS) stretched++;
    if (dur > EPS) {
      for (const n of p.nodes) {
        if (!perNode.has(n)) perNode.set(n, []);
        perNode.get(n).push([p.start, p.end, p.coresPerNode, p.memoryMBPerNode, p.id]);
      }
    }
  }
  for (const t of tasks) if (!placed.has(t.id)) err('missing', `task ${t.id} not placed`);
  for (const c of classes) {
    const used = usedIndex.get(c.name)?.size ?? 0;
    if (used > c.count) err('node-id', `class ${c.name}: ${used} distinct nodes used, it has ${c.count}`);
  }
  if (stretched) warnings.push(`${stretched} task(s) run longer than runtime / speed`);
  if (heldIdle > 0.01 * heldUsed) warnings.push(`${heldIdleTasks} task(s) hold more cores than ranks x threads: ${((100 * heldIdle) / heldUsed).toFixed(1)}% extra core-time held idle`);

  // dependencies
  for (const t of tasks) {
    const p = placed.get(t.id);
    if (!p) continue;
    for (const d of t.deps) {
      const q = placed.get(d);
      if (q && p.start < q.end - EPS) err('deps', `task ${t.id} starts at ${p.start}, before its dependency ${d} ends (${q.end})`);
    }
  }

  // capacity of every node at every instant: sweep starts and ends, ends first at equal times
  for (const [n, iv] of perNode) {
    const cls = classByName.get(n.slice(0, n.lastIndexOf('-')));
    const ev = [];
    for (const [s, e, c, m, id] of iv) ev.push([s, c, m, id], [e - EPS, -c, -m, id]);
    ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cores = 0;
    let mem = 0;
    let reported = false;
    for (const [time, c, m, id] of ev) {
      cores += c;
      mem += m;
      if (!reported && (cores > cls.coresPerNode || mem > cls.memoryMBPerNode + 1e-6)) {
        err('capacity', `node ${n} over capacity at ${time.toFixed(1)}s when ${id} starts: ${cores}/${cls.coresPerNode} cores, ${mem}/${cls.memoryMBPerNode} MB`);
        reported = true;
      }
    }
  }

  if (!self) return { errors, errorCount, warnings, makespan };
  // what the planner says about itself
  if (Number.isFinite(plan.makespan) && Math.abs(plan.makespan - makespan) > EPS + 1e-9 * makespan) {
    (plan.makespan < makespan ? (s) => err('makespan', s) : (s) => warnings.push(s))(`plan.makespan ${plan.makespan} but the last task ends at ${makespan}`);
  }
  if (Array.isArray(plan.criticalPath) && plan.criticalPath.length) {
    const cp = plan.criticalPath.map((id) => placed.get(id));
    if (cp.some((p) => !p)) warnings.push('criticalPath names tasks that are not placed');
    else {
      if (Math.abs(cp[cp.length - 1].end - makespan) > EPS) warnings.push(`criticalPath ends at ${cp[cp.length - 1].end}, makespan is ${makespan}`);
      for (let i = 1; i < cp.length; i++) {
        if (cp[i].start < cp[i - 1].end - EPS) {
          warnings.push(`criticalPath: ${cp[i].id} starts before ${cp[i - 1].id} ends`);
          break;
        }
      }
    }
  } else warnings.push('no criticalPath');
  // upward rank: a task must outrank every successor it has to finish before
  let inverted = 0;
  let example;
  for (const t of tasks) {
    const p = placed.get(t.id);
    if (!p) continue;
    for (const d of t.deps) {
      const q = placed.get(d);
      if (q && byId.get(d).runtimeSeconds > 0 && !(q.rank > p.rank)) {
        inverted++;
        example ??= `${d} (rank ${q.rank}) -> ${t.id} (rank ${p.rank})`;
      }
    }
  }
  if (inverted) warnings.push(`${inverted} dependency edge(s) where the parent does not outrank the child, e.g. ${example}`);
  return { errors, errorCount, warnings, makespan };
}

// ------------------------------------------------------------------ main

async function main() {

  const opts = parseArgs(process.argv.slice(2));
  const cases = allCases({ quick: opts.quick });
  if (existsSync(dataDir)) {
    for (const f of readdirSync(dataDir).filter((f) => f.endsWith('.json')).sort()) {
      try {
        const c = loadWfCommons(join(dataDir, f));
        if (c.warnings.length) c.notes = [`loader: ${c.warnings.slice(0, 3).join('; ')}${c.warnings.length > 3 ? ` (+${c.warnings.length - 3})` : ''}`];
        cases.push(c);
      } catch (e) {
        console.error(`bench-plan: skipping ${f}: ${e.message}`);
      }
    }
  }

  let heft = null;
  let loadError = null;
  if (existsSync(heftPath)) {
    heft = new PlannerWorker();
    const hello = await heft.call({ hello: true }, 60_000);
    if (hello.error) {
      loadError = hello.error;
      heft.stop();
      heft = null;
    }
  }

  log(`nx-campaign planning benchmark  ${new Date().toISOString()}`);
  log(`  Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log(heft ? `  planner: ${heftPath} (built ${statSync(heftPath).mtime.toISOString()})` : `  planner: NOT AVAILABLE (${loadError ?? `${heftPath} missing: run npm run build`}); baseline and bounds only`);
  log(`  mode: ${opts.quick ? 'quick' : 'full'}, ${opts.repeat ?? 'default'} repeat(s); ${cases.length} cases`);
  log('');

  // Other processes on the cores skew the timings: before each case wait a little (within a
  // total budget) for the cores to be mostly idle, and print how busy they were.
  const budget = { leftSec: opts.quick ? 10 : 40 };
  const rows = [];
  const results = [];
  let invalid = false;
  for (const c of cases) {
    process.stderr.write(`  planning ${c.name} (${c.tasks.length} tasks)...\n`);
    const nodes = c.classes.reduce((s, k) => s + k.count, 0);
    const lb = lowerBound(c.tasks, c.classes);
    const r = { name: c.name, tasks: c.tasks.length, nodes, lb: lb.value, packing: lb.packing, notes: [...(c.notes ?? [])] };

    try {
      const flat = planSocmBaseline(c.tasks, c.classes);
      r.flat = flat.makespan;
      const over = [];
      if (flat.peakPoolMemoryMB > flat.poolMemoryMB) over.push(`pooled memory peaks at ${(flat.peakPoolMemoryMB / flat.poolMemoryMB).toFixed(2)}x the pool`);
      if (flat.straddling) over.push(`${flat.straddling} one-node task(s) got cores on two nodes`);
      if (over.length) r.notes.push(`socm flat plan cannot run as planned: ${over.join(', ')}`);
    } catch (e) {
      r.notes.push(`socm flat baseline failed: ${e.message}`);
    }
    try {
      const onNodes = planSocmOnNodes(c.tasks, c.classes);
      const chk = checkPlan(onNodes, c.tasks, c.classes, { self: false });
      if (chk.errorCount) r.notes.push(`socm-on-nodes baseline plan INVALID (a bug in the baseline): ${chk.errors.slice(0, 3).join('; ')}`);
      else r.base = chk.makespan;
    } catch (e) {
      r.notes.push(`socm-on-nodes baseline failed: ${e.message}`);
    }

    if (heft) {
      const repeat = opts.repeat ?? (opts.quick ? 1 : c.tasks.length > 5000 ? 3 : 5);
      r.busy = await settle(budget);
      const out = await heft.call({ tasks: c.tasks, classes: c.classes, repeat, slowMs: 5000 }, CALL_TIMEOUT_MS);
      try {
        if (out.timeout) throw new Error(`planHeft did not return within ${CALL_TIMEOUT_MS / 1000} s (worker stopped)`);
        if (out.error) throw new Error(`planHeft threw: ${out.error}`);
        const { plan, samples } = out;
        if (out.mutated) r.notes.push('planner MUTATED its input');
        if (new Set(out.makespans).size > 1) r.notes.push(`nondeterministic: makespans ${out.makespans.join(', ')} over the repeats`);
        r.samples = samples;
        r.ms = median(samples);
        r.pass = out.passMakespan;
        const chk = checkPlan(plan, c.tasks, c.classes);
        r.heft = chk.makespan;
        r.valid = chk.errorCount === 0;
        if (!r.valid) invalid = true;
        r.errors = chk.errors;
        r.errorCount = chk.errorCount;
        r.notes.push(...chk.warnings);
        const mine = lb.value;
        if (Number.isFinite(plan.lowerBound) && Math.abs(plan.lowerBound - mine) > 1e-6 * mine + EPS) r.notes.push(`plan.lowerBound ${fmtDur(plan.lowerBound)} (${plan.lowerBound}) is ${plan.lowerBound > mine ? 'above' : 'below'} ours ${fmtDur(mine)} (${mine})`);
        if (out.lowerBoundError) r.notes.push(`lowerBound() threw: ${out.lowerBoundError}`);
        else if (out.lowerBound !== undefined && Math.abs(out.lowerBound - mine) > 1e-6 * mine + EPS) r.notes.push(`lowerBound() ${fmtDur(out.lowerBound)} (${out.lowerBound}) is ${out.lowerBound > mine ? 'above' : 'below'} ours ${fmtDur(mine)} (${mine})`);
        if (r.heft < mine - EPS) r.notes.push(`HEFT makespan below our lower bound: the bound or the plan is wrong`);
        if (r.packing > mine * 1.001) r.notes.push(`packing bound ${fmtDur(r.packing)} (tasks too big to share a node) is above the lower bound ${fmtDur(mine)}: HEFT / packing bound = ${(r.heft / r.packing).toFixed(3)}`);
      } catch (e) {
        invalid = true;
        r.valid = false;
        r.errors = [e.message];
        r.errorCount = 1;
      }
    }
    const part = Object.entries(lb.parts).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    r.lbKind = { criticalPath: 'path', coreTime: 'cores', memoryTime: 'memory', longestTask: 'task' }[part];
    results.push(r);
    const ratio = (x) => (x === undefined ? '-' : (x / r.lb).toFixed(3));
    rows.push([
      r.name,
      r.tasks,
      r.nodes,
      r.ms === undefined ? '-' : `${fmtMs(r.ms)} [${fmtMs(Math.min(...r.samples))}-${fmtMs(Math.max(...r.samples))}] x${r.samples.length}`,
      r.busy === undefined || r.busy === null ? '-' : `${Math.round(100 * r.busy)}%`,
      r.heft === undefined ? '-' : fmtDur(r.heft),
      `${fmtDur(r.lb)} ${r.lbKind}`,
      ratio(r.heft),
      ratio(r.pass),
      r.base === undefined ? '-' : fmtDur(r.base),
      ratio(r.base),
      r.flat === undefined ? '-' : fmtDur(r.flat),
      ratio(r.flat),
      `${r.heft === undefined || r.base === undefined ? '-' : r.heft <= r.base * (1 + 1e-9) ? 'yes' : 'NO'} / ${r.heft === undefined || r.flat === undefined ? '-' : r.heft <= r.flat * (1 + 1e-9) ? 'yes' : 'no'}`,
      r.valid === undefined ? '-' : r.valid ? 'valid' : `INVALID (${r.errorCount})`,
    ]);
  }

  table(rows, ['case', 'tasks', 'nodes', 'HEFT plan ms median [range] xN', 'busy', 'HEFT', 'lower bound', 'HEFT/LB', 'pass/LB', 'socm', 'socm/LB', 'socm flat', 'flat/LB', 'HEFT<=socm/flat', 'HEFT plan']);
  log('  HEFT = the plan planHeft returns; pass = its HEFT pass alone, before forward-backward improvement');
  log('  busy = share of the cores other processes used just before the timed calls (read high figures with care)');
  log('  socm = socm\'s order and core-reuse rule on real nodes (the baseline); socm flat = socm as it plans, one pool of cores and memory (optimistic: see notes)');

  const noted = results.filter((r) => r.notes.length || r.errors?.length);
  if (noted.length) {
    log('\nnotes');
    for (const r of noted) {
      log(`  ${r.name}:`);
      for (const e of r.errors ?? []) log(`    ERROR ${e}`);
      if ((r.errorCount ?? 0) > (r.errors?.length ?? 0)) log(`    ... ${r.errorCount - r.errors.length} more error(s) of these kinds`);
      for (const n of r.notes) log(`    ${n}`);
    }
  }

  // ------------------------------------------------------------------ targets

  log('\ntargets');
  const targetRows = [];
  const withHeft = results.filter((r) => r.heft !== undefined && r.valid);
  if (withHeft.length) {
    const ratios = withHeft.map((r) => r.heft / r.lb);
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    const worst = withHeft.reduce((a, b) => (b.heft / b.lb > a.heft / a.lb ? b : a));
    targetRows.push([`mean HEFT makespan / lower bound (${withHeft.length} valid plans)`, mean.toFixed(3), `<= ${TARGET.meanRatio.toFixed(2)}`, verdict(mean <= TARGET.meanRatio), `worst ${(worst.heft / worst.lb).toFixed(3)}: ${worst.name}`]);
    const tight = withHeft.map((r) => r.heft / Math.max(r.lb, r.packing));
    const tightWorst = withHeft[tight.indexOf(Math.max(...tight))];
    targetRows.push(['  same against max(bound, packing bound)', (tight.reduce((a, b) => a + b, 0) / tight.length).toFixed(3), '(info)', '', `worst ${Math.max(...tight).toFixed(3)}: ${tightWorst.name}`]);
    const cmp = (key, label, counts) => {
      const worse = withHeft.filter((r) => r[key] !== undefined && r.heft > r[key] * (1 + 1e-9));
      const gain = withHeft.filter((r) => r[key] !== undefined).map((r) => r[key] / r.heft);
      targetRows.push([
        label,
        `${worse.length} worse`,
        counts ? '0' : '(info)',
        counts ? verdict(worse.length === 0) : '',
        worse.length ? few(worse.map((r) => `${r.name} ${(r.heft / r[key]).toFixed(3)}x`)) : `${key === 'base' ? 'socm' : 'flat'}/HEFT geometric mean ${Math.exp(gain.reduce((a, g) => a + Math.log(g), 0) / gain.length).toFixed(3)}`,
      ]);
    };
    cmp('base', 'HEFT never worse than socm (on nodes)', true);
    cmp('flat', 'HEFT vs socm flat (plans that may not run)', false);
  } else targetRows.push(['makespan targets', '-', '-', 'NOT MEASURED', heft ? 'no valid HEFT plan' : 'planner not built']);
  const timeTarget = (n, limit) => {
    const r = results.find((x) => x.name === `layered ${n} on 500n`);
    if (!r || r.ms === undefined) return targetRows.push([`planning ${n.toLocaleString('en-US')} stages on 500 nodes`, '-', `< ${limit} s`, 'NOT MEASURED', !r ? 'case not run (--quick?)' : 'planner not available or threw']);
    targetRows.push([`planning ${n.toLocaleString('en-US')} stages on 500 nodes (median)`, `${(r.ms / 1000).toFixed(3)} s`, `< ${limit} s`, verdict(r.ms / 1000 < limit), `${r.samples.length} sample(s): ${r.samples.map((s) => (s / 1000).toFixed(3)).join(' ')} s${r.valid ? '' : ' (plan INVALID)'}`]);
  };
  timeTarget(10_000, TARGET.plan10k);
  timeTarget(1000, TARGET.plan1k);
  if (heft) {
    const bad = results.filter((r) => r.valid === false);
    targetRows.push(['every HEFT plan valid', `${results.length - bad.length}/${results.length}`, 'all', bad.length ? 'FAIL' : 'OK', few(bad.map((r) => r.name))]);
  }
  table(targetRows, ['target', 'measured', 'target', 'verdict', 'detail']);

  heft?.stop();
  if (!heft) process.exit(2);
  process.exit(invalid ? 1 : 0);
}

// ------------------------------------------------------------------ the planner, in a worker

/**
 * planHeft runs in a worker thread, so a planner that loops forever costs one timeout, not the
 * whole run; the worker stays up between cases (the JIT stays warm) and is replaced after a
 * timeout. The worker times each call, checks the input is unchanged and returns the first plan.
 */
const CALL_TIMEOUT_MS = 30_000;
class PlannerWorker {
  start() {
    this.worker = new Worker(fileURLToPath(import.meta.url), { workerData: { heftPath } });
    this.worker.unref();
  }
  call(msg, timeoutMs) {
    if (!this.worker) this.start();
    return new Promise((resolvePromise) => {
      const w = this.worker;
      const done = (v) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        resolvePromise(v);
      };
      const onMessage = (v) => done(v);
      const onError = (e) => {
        this.worker = null;
        done({ error: `worker died: ${e.message}` });
      };
      const timer = setTimeout(() => {
        this.stop();
        done({ timeout: true });
      }, timeoutMs);
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage(msg);
    });
  }
  stop() {
    this.worker?.terminate();
    this.worker = null;
  }
}

async function workerMain() {
  let mod;
  let loadError;
  try {
    mod = await import(pathToFileURL(workerData.heftPath).href);
    mod = mod.planHeft ? mod : mod.default;
    if (typeof mod?.planHeft !== 'function') throw new Error(`${workerData.heftPath} has no planHeft export`);
  } catch (e) {
    loadError = e.message;
  }
  parentPort.on('message', ({ hello, tasks, classes, repeat, slowMs }) => {
    if (hello || loadError) return parentPort.postMessage(loadError ? { error: loadError } : { ok: true });
    const before = JSON.stringify(tasks) + JSON.stringify(classes);
    const samples = [];
    const makespans = [];
    let plan;
    try {
      for (let i = 0; i < repeat; i++) {
        const t0 = performance.now();
        const p = mod.planHeft(tasks, classes);
        samples.push(performance.now() - t0);
        makespans.push(p.makespan);
        plan ??= p;
        if (samples[0] > slowMs) break; // too slow to repeat within the time budget
      }
    } catch (e) {
      return parentPort.postMessage({ error: e.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e) });
    }
    const mutated = JSON.stringify(tasks) + JSON.stringify(classes) !== before;
    const out = { plan, samples, makespans, mutated };
    try {
      out.passMakespan = mod.planHeft(tasks, classes, { improvementRounds: 0 }).makespan;
    } catch {
      // a planner without the option: no column
    }
    if (typeof mod.lowerBound === 'function') {
      try {
        out.lowerBound = mod.lowerBound(tasks, classes);
      } catch (e) {
        out.lowerBoundError = e.message;
      }
    }
    parentPort.postMessage(out);
  });
}

export { checkPlan, lowerBound };
if (!isMainThread && workerData?.heftPath) await workerMain();
else if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
