import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planHeft, planHeftMatrix, rankOrder, UnplaceableTaskError } from './heft';
import type { Plan, PlanTask } from './types';
import { type NodeClass } from '../sites/site';

const task = (id: string, o: Partial<PlanTask> = {}): PlanTask => ({ id, ranks: 1, threads: 1, memoryMBPerNode: 0, runtimeSeconds: 10, deps: [], ...o });
const site = (o: Partial<NodeClass> = {}): NodeClass => ({ name: 'n', count: 1, coresPerNode: 8, memoryMBPerNode: 1000, speed: 1, ...o });
const byId = (plan: Plan) => new Map(plan.placements.map((p) => [p.id, p]));

// ---------------------------------------------------------------------------------------------
// An independent check of a plan: written from the rules, sharing no code with the planner.

/** Nodes and cores per node the task takes on a class, or undefined if it cannot run there. */
function expectedShape(t: PlanTask, c: NodeClass): { nodes: number; cores: number } | undefined {
  if (t.threads > c.coresPerNode || t.memoryMBPerNode > c.memoryMBPerNode) return undefined;
  const perNode = Math.floor(c.coresPerNode / t.threads);
  const nodes = t.nodes ?? Math.ceil(t.ranks / perNode);
  const ranksOnNode = Math.ceil(t.ranks / nodes); // spread evenly
  if (ranksOnNode > perNode || nodes > c.count) return undefined;
  return { nodes, cores: ranksOnNode * t.threads };
}

function classOfNode(node: string, classes: NodeClass[]): NodeClass {
  const cls = classes.find((c) => node.startsWith(`${c.name}-`));
  if (!cls) throw new Error(`node ${node} is of no class`);
  const index = node.slice(cls.name.length + 1);
  expect(index).toHaveLength(String(cls.count - 1).length);
  expect(Number(index)).toBeLessThan(cls.count);
  return cls;
}

function checkPlan(tasks: PlanTask[], classes: NodeClass[], plan: Plan): void {
  expect(plan.placements.map((p) => p.id)).toEqual(tasks.map((t) => t.id));
  const placed = byId(plan);
  const usage = new Map<string, Array<{ time: number; cores: number; memory: number }>>();
  for (const t of tasks) {
    const p = placed.get(t.id)!;
    expect(new Set(p.nodes).size, `${t.id} nodes distinct`).toBe(p.nodes.length);
    const cls = classOfNode(p.nodes[0], classes);
    for (const n of p.nodes) expect(classOfNode(n, classes), `${t.id} on one class`).toBe(cls);
    const shape = expectedShape(t, cls);
    expect(shape, `${t.id} fits ${cls.name}`).toBeDefined();
    expect(p.nodes).toHaveLength(shape!.nodes);
    expect(p.coresPerNode).toBe(shape!.cores);
    expect(p.memoryMBPerNode).toBe(t.memoryMBPerNode);
    expect(p.start).toBeGreaterThanOrEqual(0);
    expect(p.end - p.start).toBeCloseTo(t.runtimeSeconds / cls.speed, 9);
    for (const d of t.deps) expect(p.start, `${t.id} after ${d}`).toBeGreaterThanOrEqual(placed.get(d)!.end);
    for (const n of p.nodes) {
      const events = usage.get(n) ?? [];
      events.push({ time: p.start, cores: p.coresPerNode, memory: p.memoryMBPerNode }, { time: p.end, cores: -p.coresPerNode, memory: -p.memoryMBPerNode });
      usage.set(n, events);
    }
  }
  for (const [node, events] of usage) {
    const cls = classOfNode(node, classes);
    // Releases before takes at the same instant: intervals are [start, end).
    events.sort((a, b) => a.time - b.time || a.cores - b.cores || a.memory - b.memory);
    let cores = 0;
    let memory = 0;
    for (const e of events) {
      cores += e.cores;
      memory += e.memory;
      expect(cores, `cores on ${node} at ${e.time}`).toBeLessThanOrEqual(cls.coresPerNode);
      expect(memory, `memory on ${node} at ${e.time}`).toBeLessThanOrEqual(cls.memoryMBPerNode);
    }
  }
  const makespan = Math.max(0, ...plan.placements.map((p) => p.end));
  expect(plan.makespan).toBe(makespan);
  expect(plan.makespan).toBeGreaterThanOrEqual(plan.lowerBound - 1e-6);
  if (tasks.length === 0) return;
  // The critical path is a chain of data or node-sharing steps that ends at the makespan.
  const path = plan.criticalPath.map((id) => placed.get(id)!);
  expect(path.at(-1)!.end).toBe(makespan);
  const deps = new Map(tasks.map((t) => [t.id, t.deps]));
  for (let k = 1; k < path.length; k++) {
    const [a, b] = [path[k - 1], path[k]];
    const linked = deps.get(b.id)!.includes(a.id) || (a.nodes.some((n) => b.nodes.includes(n)) && a.end <= b.start);
    expect(linked, `${a.id} -> ${b.id} in the critical path`).toBe(true);
  }
}

/**
 * HEFT's own rule, by brute force: placing the tasks in rank order, each one finishes at the
 * earliest time any k nodes of one class had room for it over its whole run, given the tasks
 * placed before it. A start is either the ready time or the end of something on the class.
 */
function checkEarliestFinish(tasks: PlanTask[], classes: NodeClass[], plan: Plan): void {
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const preds = tasks.map((t) => t.deps.map((d) => index.get(d)!));
  const succs = tasks.map(() => [] as number[]);
  preds.forEach((ps, i) => ps.forEach((p) => succs[p].push(i)));
  const order = rankOrder(plan.placements.map((p) => p.rank), preds, succs);
  const onNode = new Map<string, Array<{ start: number; end: number; cores: number; memory: number }>>();
  for (const i of order) {
    const t = tasks[i];
    const p = plan.placements[i];
    const ready = Math.max(0, ...t.deps.map((d) => plan.placements[index.get(d)!].end));
    let best = Infinity;
    for (const cls of classes) {
      const shape = expectedShape(t, cls);
      if (!shape) continue;
      const d = t.runtimeSeconds / cls.speed;
      const names = Array.from({ length: cls.count }, (_, n) => `${cls.name}-${String(n).padStart(String(cls.count - 1).length, '0')}`);
      const ends = names.flatMap((n) => (onNode.get(n) ?? []).map((x) => x.end)).filter((e) => e > ready);
      for (const start of [ready, ...ends].sort((a, b) => a - b)) {
        const roomy = names.filter((n) => {
          const here = (onNode.get(n) ?? []).filter((x) => x.end > x.start);
          const instants = [start, ...here.map((x) => x.start).filter((s) => s > start && s < start + d)];
          return instants.every((at) => {
            const busy = here.filter((x) => x.start <= at && at < x.end);
            return busy.reduce((s, x) => s + x.cores, 0) + shape.cores <= cls.coresPerNode && busy.reduce((s, x) => s + x.memory, 0) + t.memoryMBPerNode <= cls.memoryMBPerNode;
          });
        });
        if (roomy.length >= shape.nodes) {
          best = Math.min(best, start + d);
          break;
        }
      }
    }
    expect(p.end, `${t.id} finishes as early as it could`).toBeCloseTo(best, 9);
    for (const n of p.nodes) {
      const list = onNode.get(n) ?? [];
      list.push({ start: p.start, end: p.end, cores: p.coresPerNode, memory: p.memoryMBPerNode });
      onNode.set(n, list);
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('planHeft: forward-backward improvement', () => {
  // 4 cores: HEFT takes b, c, d, a by rank (60, 50, 50, 40), so d waits for c and a for d: 140.
  // Reordered from the backward pass, c and d share the node first, then a beside b: 110.
  const tasks = [
    task('a', { threads: 3, runtimeSeconds: 40 }),
    task('b', { threads: 1, runtimeSeconds: 60 }),
    task('c', { threads: 2, runtimeSeconds: 50 }),
    task('d', { threads: 2, runtimeSeconds: 50 }),
  ];
  const classes = [site({ count: 1, coresPerNode: 4 })];

  it('shortens a plan where rank order leaves cores idle', () => {
    expect(planHeft(tasks, classes, { improvementRounds: 0 }).makespan).toBe(140);
    const plan = planHeft(tasks, classes);
    expect(plan.makespan).toBe(110);
    checkPlan(tasks, classes, plan);
  });
});

describe('planHeftMatrix: the HEFT paper example (Topcuoglu et al. 2002, fig. 2)', () => {
  const costs = [[14, 16, 9], [13, 19, 18], [11, 13, 19], [13, 8, 17], [12, 13, 10], [13, 16, 9], [7, 15, 11], [5, 11, 14], [18, 12, 20], [21, 7, 16]];
  const edges: Array<[number, number, number]> = [
    [1, 2, 18], [1, 3, 12], [1, 4, 9], [1, 5, 11], [1, 6, 14], [2, 8, 19], [2, 9, 16], [3, 7, 23],
    [4, 8, 27], [4, 9, 23], [5, 9, 13], [6, 8, 15], [7, 10, 17], [8, 10, 11], [9, 10, 13],
  ];
  const plan = planHeftMatrix(costs, new Map(edges.map(([a, b, c]) => [`${a - 1}->${b - 1}`, c])), edges.map(([a, b]) => [a - 1, b - 1]));

  it('has the upward ranks of the paper', () => {
    expect(plan.rank.map((r) => r.toFixed(1))).toEqual(['108.0', '77.0', '80.0', '80.0', '69.0', '63.3', '42.7', '35.7', '44.3', '14.7']);
  });

  it('places in rank order, n3 before n4 (tied at 80), and reaches makespan 80', () => {
    expect(plan.order.map((i) => `n${i + 1}`)).toEqual(['n1', 'n3', 'n4', 'n2', 'n5', 'n6', 'n9', 'n7', 'n8', 'n10']);
    expect(plan.makespan).toBe(80);
    // The paper's schedule: processor, start, end.
    const table = plan.order.map((i) => [`n${i + 1}`, `P${plan.processor[i] + 1}`, plan.start[i], plan.end[i]]);
    expect(table).toEqual([
      ['n1', 'P3', 0, 9], ['n3', 'P3', 9, 28], ['n4', 'P2', 18, 26], ['n2', 'P1', 27, 40], ['n5', 'P3', 28, 38],
      ['n6', 'P2', 26, 42], ['n9', 'P2', 56, 68], ['n7', 'P3', 38, 49], ['n8', 'P1', 57, 62], ['n10', 'P2', 73, 80],
    ]);
  });

  it('inserts into an idle gap on a processor', () => {
    // a runs 0-10 on P1; b is fast on P2 and waits there for a's 10 s message: 20-30. c comes
    // last (lowest rank) and fits P2's gap 0-20, before b.
    const p = planHeftMatrix([[10, 100], [100, 10], [100, 5]], new Map([['0->1', 10]]), [[0, 1]]);
    expect(p.order).toEqual([0, 1, 2]);
    expect([p.processor[1], p.start[1], p.processor[2], p.start[2], p.makespan]).toEqual([1, 20, 1, 0, 30]);
  });
});

describe('planHeft', () => {
  it('fills an idle gap before tasks already placed (insertion, not append)', () => {
    // z (1 core, 30 s) goes first, x and y need both cores so they wait until 30; w (1 core,
    // lowest rank) fits next to z at 0.
    const tasks = [task('z', { runtimeSeconds: 30 }), task('x', { threads: 2 }), task('y', { threads: 2, deps: ['x'] }), task('w', { runtimeSeconds: 5 })];
    const plan = planHeft(tasks, [site({ coresPerNode: 2 })]);
    const at = byId(plan);
    expect([at.get('x')!.start, at.get('y')!.start, at.get('w')!.start, plan.makespan]).toEqual([30, 40, 0, 50]);
    checkPlan(tasks, [site({ coresPerNode: 2 })], plan);
  });

  it('starts a multi-node task when enough nodes are free at once', () => {
    const classes = [site({ name: 'c', count: 3, coresPerNode: 2 })];
    const tasks = [task('long', { threads: 2, runtimeSeconds: 20 }), task('short', { threads: 2 }), task('wide', { ranks: 2, threads: 2, runtimeSeconds: 5 })];
    const plan = planHeft(tasks, classes);
    expect(byId(plan).get('wide')).toMatchObject({ start: 10, end: 15, nodes: ['c-1', 'c-2'], coresPerNode: 2 });
    checkPlan(tasks, classes, plan);
  });

  it('holds memory on every node for the whole run', () => {
    const classes = [site({ count: 1, memoryMBPerNode: 100 })];
    const tasks = [task('a', { memoryMBPerNode: 80 }), task('b', { memoryMBPerNode: 80 }), task('c', { memoryMBPerNode: 20 })];
    const plan = planHeft(tasks, classes);
    expect(plan.placements.map((p) => p.start)).toEqual([0, 10, 0]);
    checkPlan(tasks, classes, plan);
  });

  it('packs small tasks on a busy node to keep whole nodes free', () => {
    const classes = [site({ count: 2, coresPerNode: 4 })];
    const tasks = [task('a', { threads: 2 }), task('b', { threads: 2 }), task('whole', { threads: 4 })];
    const plan = planHeft(tasks, classes);
    expect(plan.makespan).toBe(10);
    checkPlan(tasks, classes, plan);
  });

  it('runs a task at the speed of the class it lands on, choosing the earliest finish', () => {
    const classes = [site({ name: 'slow', count: 4 }), site({ name: 'fast', count: 1, speed: 2 })];
    const one = planHeft([task('a', { runtimeSeconds: 100 })], classes);
    expect(one.placements[0]).toMatchObject({ nodes: ['fast-0'], start: 0, end: 50 });
    // Two at once: the second would wait until 50 on the fast node and end at 100, as on a slow one;
    // a tie goes to the class listed first.
    const two = planHeft([task('a', { runtimeSeconds: 100, threads: 8 }), task('b', { runtimeSeconds: 100, threads: 8 })], classes);
    expect(two.placements.map((p) => [p.nodes[0], p.end])).toEqual([['fast-0', 50], ['slow-0', 100]]);
  });

  it('ranks by mean duration over the nodes a task fits, weighted by node count', () => {
    const classes = [site({ name: 'slow', count: 3 }), site({ name: 'fast', count: 1, speed: 4, coresPerNode: 4 })];
    const plan = planHeft([task('a', { runtimeSeconds: 40 }), task('b', { deps: ['a'], runtimeSeconds: 8, threads: 8 })], classes);
    // a: (3 x 40 + 1 x 10) / 4 = 32.5, plus b; b fits only the slow nodes: 8.
    expect(plan.placements.map((p) => p.rank)).toEqual([40.5, 8]);
  });

  it('names zero-padded nodes and follows the critical path through a node it waited for', () => {
    const classes = [site({ name: 'tiger3', count: 492, coresPerNode: 112, memoryMBPerNode: 1_000_000 })];
    expect(planHeft([task('a')], classes).placements[0].nodes).toEqual(['tiger3-000']);
    const one = [site({ name: 'solo', count: 1, coresPerNode: 1 })];
    const plan = planHeft([task('a'), task('b', { runtimeSeconds: 5 })], one);
    expect(plan.criticalPath).toEqual(['a', 'b']);
    expect(plan.makespan).toBe(15);
  });

  it('uses the estimate instead of runtimeSeconds when given', () => {
    const plan = planHeft([task('a'), task('b', { deps: ['a'] })], [site()], { estimate: (t) => (t.id === 'a' ? 100 : 1) });
    expect(plan.placements.map((p) => [p.start, p.end])).toEqual([[0, 100], [100, 101]]);
  });

  it('throws naming a task that fits nowhere and the largest node', () => {
    const classes = [site({ name: 'small', count: 8, coresPerNode: 16, memoryMBPerNode: 64000 }), site({ name: 'big', count: 2, coresPerNode: 112, memoryMBPerNode: 1_000_000 })];
    const call = () => planHeft([task('ok'), task('spectra', { ranks: 17, threads: 4, memoryMBPerNode: 2_000_000 })], classes);
    expect(call).toThrow(UnplaceableTaskError);
    expect(call).toThrow(/task "spectra".*largest node has 112 cores and 1000000 MB/);
    expect(() => planHeft([task('wide', { ranks: 3, nodes: 3 })], classes.slice(1))).toThrow(/"wide".*needs 3 nodes, has 2/);
  });

  it('refuses malformed input', () => {
    expect(() => planHeft([task('a', { deps: ['nope'] })], [site()])).toThrow(/"a" depends on "nope"/);
    expect(() => planHeft([task('a', { deps: ['b'] }), task('b', { deps: ['a'] })], [site()])).toThrow(/cycle/);
    expect(() => planHeft([task('a'), task('a')], [site()])).toThrow(/listed twice/);
    expect(() => planHeft([task('a', { ranks: 0 })], [site()])).toThrow(/ranks must be a positive/);
  });

  it('plans nothing for no tasks', () => {
    expect(planHeft([], [site()])).toEqual({ placements: [], makespan: 0, lowerBound: 0, criticalPath: [] });
  });
});

describe('planHeft on the socm examples', () => {
  it('plans /work/shared/examples/socm/dag.yml on 30 tiger3 nodes at the critical-path bound', () => {
    const tiger3 = [{ name: 'tiger3', count: 30, coresPerNode: 112, memoryMBPerNode: 1_000_000, speed: 1 }];
    const s = (id: string, ranks: number, threads: number, memoryMBPerNode: number, runtimeSeconds: number, deps: string[] = []): PlanTask => ({ id, ranks, threads, memoryMBPerNode, runtimeSeconds, deps });
    const tasks = [
      s('extract_act', 1, 4, 48000, 600),
      s('get_gaussian_beams', 1, 4, 48000, 600),
      s('get_xtra_mask', 1, 4, 48000, 600),
      s('get_windows', 1, 10, 72000, 600, ['get_xtra_mask']),
      s('get_best_fit_mflike', 1, 4, 48000, 600),
      s('get_mcm_bbl_and_pseudosignal', 14, 8, 8000, 600, ['get_windows', 'get_best_fit_mflike']),
      s('get_pseudo2datavec', 1, 2, 8000, 900, ['get_mcm_bbl_and_pseudosignal']),
      s('get_spectra_from_maps', 17, 4, 600000, 900, ['get_pseudo2datavec']),
    ];
    const plan = planHeft(tasks, tiger3);
    checkPlan(tasks, tiger3, plan);
    expect(plan.lowerBound).toBe(3600);
    expect(plan.makespan).toBe(3600);
    expect(plan.criticalPath).toEqual(['get_xtra_mask', 'get_windows', 'get_mcm_bbl_and_pseudosignal', 'get_pseudo2datavec', 'get_spectra_from_maps']);
    expect(byId(plan).get('get_mcm_bbl_and_pseudosignal')).toMatchObject({ coresPerNode: 112, start: 1200 });
  });

  it("plans the seed's 3-stage example in 5400 s", () => {
    const tiger3 = [{ name: 'tiger3', count: 492, coresPerNode: 112, memoryMBPerNode: 1_000_000, speed: 1 }];
    const tasks = [
      task('preprocess', { ranks: 1, threads: 4, memoryMBPerNode: 48000, runtimeSeconds: 600 }),
      task('mapmaking', { ranks: 14, threads: 8, memoryMBPerNode: 128000, runtimeSeconds: 3600, deps: ['preprocess'] }),
      task('spectra', { ranks: 4, threads: 4, memoryMBPerNode: 32000, runtimeSeconds: 1200, deps: ['mapmaking'] }),
    ];
    const plan = planHeft(tasks, tiger3);
    checkPlan(tasks, tiger3, plan);
    expect([plan.makespan, plan.lowerBound]).toEqual([5400, 5400]);
    expect(plan.criticalPath).toEqual(['preprocess', 'mapmaking', 'spectra']);
  });
});

// ---------------------------------------------------------------------------------------------

const classArb = fc.record({
  count: fc.integer({ min: 1, max: 8 }),
  coresPerNode: fc.constantFrom(1, 2, 4, 8, 16),
  memoryMBPerNode: fc.constantFrom(1000, 4000, 16000),
  speed: fc.constantFrom(0.5, 1, 1.5, 2),
});
const siteArb = fc.array(classArb, { minLength: 1, maxLength: 3 }).map((cs) => cs.map((c, i): NodeClass => ({ name: `c${i}`, ...c })));
const taskArb = fc.record({
  ranks: fc.integer({ min: 1, max: 6 }),
  threads: fc.integer({ min: 1, max: 8 }),
  memoryMBPerNode: fc.integer({ min: 0, max: 16 }).map((x) => x * 1000),
  runtimeSeconds: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 100 }), weight: 9 }, { arbitrary: fc.constant(0), weight: 1 }),
  nodes: fc.oneof({ arbitrary: fc.constant(undefined), weight: 7 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 }),
  picks: fc.array(fc.nat(), { maxLength: 3 }),
});
const dagArb = fc.array(taskArb, { minLength: 1, maxLength: 60 }).map((ts) =>
  ts.map(({ picks, ...t }, i): PlanTask => ({ id: `t${i}`, ...t, deps: i === 0 ? [] : [...new Set(picks.map((x) => `t${x % i}`))] })),
);
/** Shrink every task that fits no class to 1 rank, 1 thread, no memory (fits any node). */
const fitting = (tasks: PlanTask[], classes: NodeClass[]) =>
  tasks.map((t) => (classes.some((c) => expectedShape(t, c)) ? t : { ...t, ranks: 1, threads: 1, memoryMBPerNode: 0, nodes: undefined }));

describe('planHeft on random DAGs and sites (fast-check)', () => {
  it('never overfills a node, respects deps, is at least the lower bound, places every task once', () => {
    fc.assert(
      fc.property(dagArb, siteArb, (raw, classes) => {
        const tasks = fitting(raw, classes);
        const plan = planHeft(tasks, classes);
        checkPlan(tasks, classes, plan);
        expect(planHeft(tasks, classes)).toEqual(plan);
      }),
      { numRuns: 300 },
    );
  });

  it('gives each task, in rank order, the earliest finish any class had room for (HEFT pass alone)', () => {
    fc.assert(
      fc.property(dagArb, siteArb, (raw, classes) => {
        const tasks = fitting(raw, classes);
        checkEarliestFinish(tasks, classes, planHeft(tasks, classes, { improvementRounds: 0 }));
      }),
      { numRuns: 150 },
    );
  });

  it('improves on the HEFT pass or keeps it, never longer', () => {
    fc.assert(
      fc.property(dagArb, siteArb, (raw, classes) => {
        const tasks = fitting(raw, classes);
        expect(planHeft(tasks, classes).makespan).toBeLessThanOrEqual(planHeft(tasks, classes, { improvementRounds: 0 }).makespan);
      }),
      { numRuns: 150 },
    );
  });

  it('throws naming a task that fits no class', () => {
    fc.assert(
      fc.property(dagArb, siteArb, fc.nat(), fc.constantFrom('threads', 'memory', 'nodes'), (raw, classes, pick, how) => {
        const tasks = fitting(raw, classes);
        const bad = tasks[pick % tasks.length];
        const cores = Math.max(...classes.map((c) => c.coresPerNode));
        const memory = Math.max(...classes.map((c) => c.memoryMBPerNode));
        const count = Math.max(...classes.map((c) => c.count));
        tasks[pick % tasks.length] =
          how === 'threads' ? { ...bad, threads: cores + 1 } : how === 'memory' ? { ...bad, memoryMBPerNode: memory + 1 } : { ...bad, ranks: 1, threads: 1, nodes: count + 1 };
        expect(() => planHeft(tasks, classes)).toThrow(`task "${bad.id}"`);
        expect(() => planHeft(tasks, classes)).toThrow(new RegExp(`${cores} cores.*${memory} MB`));
      }),
      { numRuns: 200 },
    );
  });
});
