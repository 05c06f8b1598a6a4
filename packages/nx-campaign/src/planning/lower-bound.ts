/**
 * What a task occupies on a node class, the checks every planner input goes through, and the
 * lower bound a schedule is judged against (no schedule on these nodes can finish earlier):
 *
 *   max(critical path, core-time / cores, memory-time / memory, longest task)
 *
 * each term at the task's best class: the fastest class it fits for durations, the class where
 * its occupied area (cores or memory x nodes x duration) is smallest for the two area terms.
 */
import type { PlanTask } from './types';
import { type NodeClass } from '../sites/site';

export interface PlanOptions {
  /** Runtime on a speed-1 node, seconds; defaults to `task.runtimeSeconds` (e.g. measured runtimes). */
  estimate?: (task: PlanTask) => number;
}

/** How a task sits on nodes of one class. */
export interface Footprint {
  nodes: number;
  /** Cores held on each of its nodes. */
  coresPerNode: number;
  /** Memory held on each of its nodes, MB. */
  memoryMBPerNode: number;
}

/**
 * The task on nodes of `cls`, or undefined if it cannot run there. Ranks per node =
 * floor(cores / threads); without `task.nodes` it takes the fewest nodes that hold its ranks;
 * either way its ranks are spread evenly (ceil(ranks / nodes) on each). A total memory
 * (`memoryMBTotal`) is shared evenly by its nodes, and may need more nodes than its ranks do,
 * at most one per rank.
 */
export function footprint(task: PlanTask, cls: NodeClass): Footprint | undefined {
  if (task.threads > cls.coresPerNode) return undefined;
  const ranksPerNode = Math.floor(cls.coresPerNode / task.threads);
  let nodes: number;
  if (task.nodes !== undefined) {
    nodes = task.nodes;
    if (Math.ceil(task.ranks / nodes) > ranksPerNode) return undefined;
  } else {
    // The fewest nodes, ranks spread evenly over them (130 ranks on 112-core nodes: 65 + 65,
    // not 112 + 18 with 94 cores held idle); the sbatch header must ask for the same.
    nodes = Math.ceil(task.ranks / ranksPerNode);
    if (task.memoryMBTotal !== undefined) nodes = Math.min(task.ranks, Math.max(nodes, Math.ceil(task.memoryMBTotal / cls.memoryMBPerNode)));
  }
  const memoryMBPerNode = memoryPerNode(task, nodes);
  if (nodes > cls.count || memoryMBPerNode > cls.memoryMBPerNode) return undefined;
  return { nodes, coresPerNode: Math.ceil(task.ranks / nodes) * task.threads, memoryMBPerNode };
}

/** Memory a task holds on each of `nodes` nodes, MB. */
export function memoryPerNode(task: PlanTask, nodes: number): number {
  return task.memoryMBTotal !== undefined ? Math.ceil(task.memoryMBTotal / nodes) : task.memoryMBPerNode;
}

/** Thrown when a task fits no node class; `taskId` names it for the caller's user error. */
export class UnplaceableTaskError extends Error {
  override name = 'UnplaceableTaskError';
  constructor(readonly taskId: string, message: string) {
    super(message);
  }
}

function whyNot(task: PlanTask, cls: NodeClass): string {
  if (task.threads > cls.coresPerNode) return `${task.threads} threads per rank > ${cls.coresPerNode} cores per node`;
  const ranksPerNode = Math.floor(cls.coresPerNode / task.threads);
  if (task.memoryMBTotal !== undefined && task.nodes === undefined) {
    return `${task.memoryMBTotal} MB in all needs ${Math.ceil(task.memoryMBTotal / cls.memoryMBPerNode)} nodes of ${cls.memoryMBPerNode} MB, more than its ${task.ranks} rank(s) can span, or than the ${cls.count} there are`;
  }
  const perNode = memoryPerNode(task, task.nodes ?? Math.ceil(task.ranks / ranksPerNode));
  if (perNode > cls.memoryMBPerNode) return `${perNode} MB per node > ${cls.memoryMBPerNode} MB`;
  if (task.nodes !== undefined && Math.ceil(task.ranks / task.nodes) > ranksPerNode) {
    return `${Math.ceil(task.ranks / task.nodes)} ranks per node on ${task.nodes} nodes > ${ranksPerNode} (${task.threads} threads each on ${cls.coresPerNode} cores)`;
  }
  const nodes = task.nodes ?? Math.ceil(task.ranks / ranksPerNode);
  return `needs ${nodes} nodes, has ${cls.count}`;
}

export function unplaceable(task: PlanTask, classes: NodeClass[]): UnplaceableTaskError {
  const needs = `${task.ranks} ranks x ${task.threads} threads, ${task.memoryMBTotal !== undefined ? `${task.memoryMBTotal} MB in all` : `${task.memoryMBPerNode} MB per node`}${task.nodes !== undefined ? `, ${task.nodes} nodes` : ''}`;
  if (classes.length === 0) return new UnplaceableTaskError(task.id, `task "${task.id}" (${needs}) cannot be placed: the site has no nodes`);
  const byCores = classes.reduce((a, b) => (b.coresPerNode > a.coresPerNode ? b : a));
  const byMemory = classes.reduce((a, b) => (b.memoryMBPerNode > a.memoryMBPerNode ? b : a));
  const largest =
    byCores === byMemory
      ? `the largest node has ${byCores.coresPerNode} cores and ${byCores.memoryMBPerNode} MB (${byCores.name}, ${byCores.count} nodes)`
      : `the largest nodes have ${byCores.coresPerNode} cores (${byCores.name}) and ${byMemory.memoryMBPerNode} MB (${byMemory.name})`;
  const reasons = classes.map((c) => `${c.name}: ${whyNot(task, c)}`).join('; ');
  return new UnplaceableTaskError(
    task.id,
    `task "${task.id}" (${needs}) fits no node class (${reasons}); ${largest}. Ask for fewer threads per rank, less memory per node or fewer nodes, or plan on a larger site.`,
  );
}

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
const nonNegative = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function checkNodeClasses(classes: NodeClass[]): void {
  const seen = new Set<string>();
  for (const c of classes) {
    if (seen.has(c.name)) throw new Error(`node class "${c.name}" is listed twice`);
    seen.add(c.name);
    if (!positiveInt(c.count)) throw new Error(`node class "${c.name}": count must be a positive whole number, got ${c.count}`);
    if (!positiveInt(c.coresPerNode)) throw new Error(`node class "${c.name}": coresPerNode must be a positive whole number, got ${c.coresPerNode}`);
    if (!nonNegative(c.memoryMBPerNode)) throw new Error(`node class "${c.name}": memoryMBPerNode must be a number >= 0, got ${c.memoryMBPerNode}`);
    if (!(typeof c.speed === 'number' && Number.isFinite(c.speed) && c.speed > 0)) throw new Error(`node class "${c.name}": speed must be a number > 0, got ${c.speed}`);
  }
}

/** Kahn's algorithm, ties by index. Shorter than the graph if there is a cycle. */
export function topoOrder(preds: number[][], succs: number[][]): number[] {
  const n = preds.length;
  const waiting = preds.map((p) => p.length);
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (waiting[i] === 0) order.push(i);
  for (let k = 0; k < order.length; k++) {
    for (const j of succs[order[k]]) if (--waiting[j] === 0) order.push(j);
  }
  return order;
}

export interface TaskGraph {
  index: Map<string, number>;
  preds: number[][];
  succs: number[][];
  /** Topological order, ties by input order. */
  topo: number[];
  /** Runtime on a speed-1 node (the estimate if one is given), by task index. */
  runtime: number[];
}

/** Check the tasks and join them into a graph; throws on bad fields, unknown deps and cycles. */
export function indexTasks(tasks: PlanTask[], opts: PlanOptions = {}): TaskGraph {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => {
    if (index.has(t.id)) throw new Error(`task "${t.id}" is listed twice`);
    index.set(t.id, i);
    if (!positiveInt(t.ranks)) throw new Error(`task "${t.id}": ranks must be a positive whole number, got ${t.ranks}`);
    if (!positiveInt(t.threads)) throw new Error(`task "${t.id}": threads must be a positive whole number, got ${t.threads}`);
    if (!nonNegative(t.memoryMBPerNode)) throw new Error(`task "${t.id}": memoryMBPerNode must be a number >= 0, got ${t.memoryMBPerNode}`);
    if (t.memoryMBTotal !== undefined && !nonNegative(t.memoryMBTotal)) throw new Error(`task "${t.id}": memoryMBTotal must be a number >= 0, got ${t.memoryMBTotal}`);
    if (t.nodes !== undefined && !positiveInt(t.nodes)) throw new Error(`task "${t.id}": nodes must be a positive whole number, got ${t.nodes}`);
  });
  const preds = tasks.map(() => [] as number[]);
  const succs = tasks.map(() => [] as number[]);
  tasks.forEach((t, i) => {
    for (const d of new Set(t.deps)) {
      const j = index.get(d);
      if (j === undefined) throw new Error(`task "${t.id}" depends on "${d}", which is not a task of this plan`);
      if (j === i) throw new Error(`task "${t.id}" depends on itself`);
      preds[i].push(j);
      succs[j].push(i);
    }
  });
  const topo = topoOrder(preds, succs);
  if (topo.length < tasks.length) {
    const placed = new Set(topo);
    const stuck = tasks.filter((_, i) => !placed.has(i)).map((t) => t.id);
    throw new Error(`tasks depend on each other in a cycle (among, or after: ${stuck.slice(0, 10).join(', ')}${stuck.length > 10 ? ', ...' : ''})`);
  }
  const runtime = tasks.map((t) => {
    const r = opts.estimate ? opts.estimate(t) : t.runtimeSeconds;
    if (!nonNegative(r)) throw new Error(`task "${t.id}": runtime must be a number of seconds >= 0, got ${r}`);
    return r;
  });
  return { index, preds, succs, topo, runtime };
}

/** Footprints by task then class; throws naming the first task that fits no class. */
export function footprints(tasks: PlanTask[], classes: NodeClass[]): (Footprint | undefined)[][] {
  return tasks.map((t) => {
    const f = classes.map((c) => footprint(t, c));
    if (f.every((x) => x === undefined)) throw unplaceable(t, classes);
    return f;
  });
}

/** The bound from an already checked graph (planHeft shares the work). */
export function boundOf(tasks: PlanTask[], classes: NodeClass[], g: TaskGraph, feet: (Footprint | undefined)[][]): number {
  const n = tasks.length;
  const best = new Array<number>(n);
  let coreTime = 0;
  let memoryTime = 0;
  let longest = 0;
  for (let i = 0; i < n; i++) {
    let d = Infinity;
    let cores = Infinity;
    let memory = Infinity;
    classes.forEach((c, k) => {
      const f = feet[i][k];
      if (!f) return;
      const dk = g.runtime[i] / c.speed;
      d = Math.min(d, dk);
      cores = Math.min(cores, f.nodes * f.coresPerNode * dk);
      memory = Math.min(memory, f.nodes * f.memoryMBPerNode * dk);
    });
    best[i] = d;
    coreTime += cores;
    memoryTime += memory;
    longest = Math.max(longest, d);
  }
  const finish = new Array<number>(n).fill(0);
  let path = 0;
  for (const i of g.topo) {
    let ready = 0;
    for (const p of g.preds[i]) ready = Math.max(ready, finish[p]);
    finish[i] = ready + best[i];
    path = Math.max(path, finish[i]);
  }
  const totalCores = classes.reduce((s, c) => s + c.count * c.coresPerNode, 0);
  const totalMemory = classes.reduce((s, c) => s + c.count * c.memoryMBPerNode, 0);
  return Math.max(path, longest, totalCores > 0 ? coreTime / totalCores : 0, totalMemory > 0 ? memoryTime / totalMemory : 0);
}

/**
 * No schedule of `tasks` on `classes` ends before this many seconds. Throws like planHeft on bad
 * input or a task that fits no class.
 */
export function lowerBound(tasks: PlanTask[], classes: NodeClass[], opts: PlanOptions = {}): number {
  checkNodeClasses(classes);
  const g = indexTasks(tasks, opts);
  return boundOf(tasks, classes, g, footprints(tasks, classes));
}
