/**
 * HEFT (Heterogeneous Earliest Finish Time; Topcuoglu, Hariri & Wu 2002) for multi-core,
 * multi-node tasks on a site made of node classes.
 *
 * 1. Upward rank: rank(i) = w(i) + max over successors j of (c(i,j) + rank(j)), w(i) the task's
 *    mean duration over the nodes it fits (runtime / speed averaged by node count), c = 0 here.
 * 2. Tasks are taken in decreasing rank (ties by input order), a task only once all its deps
 *    are placed (with positive durations that is plain rank order; it keeps zero-length tasks
 *    after their deps).
 * 3. Each task goes where it finishes earliest, idle gaps included. A node keeps a sorted list of
 *    breakpoints (time -> cores and memory in use); a task holding c cores and m MB for d
 *    seconds fits at t if every segment overlapping [t, t+d) leaves room; the gap search walks
 *    segments from the ready time and jumps past each full one. A task on k nodes needs k nodes
 *    of one class free over the same [t, t+d): t starts at the ready time and moves to the k-th
 *    earliest per-node start until k nodes agree (those times are ends of intervals on the
 *    class). Nodes idle from t on are interchangeable: each class keeps its nodes sorted by
 *    "idle from", so they are counted by binary search instead of searched; a busy node free at
 *    the ready time is preferred over an idle one (packing keeps whole nodes for wide tasks),
 *    and among idle ones the one that became idle last (the tightest fit in time).
 *    The search of a class stops at the first node offering the ready time, and a class is
 *    searched only for starts that would beat the best finish found on earlier classes.
 * 4. Then forward-backward improvement (see `improve`): up to IMPROVEMENT_ROUNDS rounds of list
 *    scheduling, backward on the reversed graph then forward again, each ordered by the times of
 *    the previous plan, with the same placement rule. The shortest plan is kept, so the result
 *    is never longer than the HEFT pass; it stops at the lower bound or after two rounds that
 *    found nothing shorter. On contended sites it cuts 2-6% (tools/bench-plan.mjs).
 *
 * Cost: ranks and order O(v log v + e). Placing a task costs, per class it fits, one binary
 * search over the class plus at most one gap search per busy node of the class (a binary search
 * and a walk over that node's segments after the ready time, cut off at the best start so far),
 * repeated for each candidate start of a multi-node task. Worst case O(v^2 p) like HEFT (v tasks,
 * p nodes); on layered campaigns most placements are an early exit or an idle node. The
 * improvement rounds repeat the placement up to 2 x IMPROVEMENT_ROUNDS times, only on plans
 * above the lower bound (contended sites).
 *
 * The same ranking, ordering and gap search also run the paper's cost-matrix form
 * (`planHeftMatrix`: one task at a time per processor, communication delay between processors),
 * which reproduces the paper's example.
 *
 * Critical path: from the task that ends last, step back to the dependency that ended last if
 * the task started when its data was ready; otherwise (it waited for cores or memory) to the
 * task on one of its nodes whose end freed them (the one ending at its start, else the latest
 * ending before it).
 */
import { boundOf, checkNodeClasses, footprints, indexTasks, topoOrder, type Footprint, type PlanOptions, type TaskGraph } from './lower-bound';
import type { Placement, Plan, PlanTask } from './types';
import { type NodeClass } from '../sites/site';

export { footprint, lowerBound, UnplaceableTaskError, type Footprint, type PlanOptions } from './lower-bound';

// ---------------------------------------------------------------------------------------------
// The shared core: ranking, ordering, and the per-resource timeline with gap search.

/** rank(i) = w(i) + max over successors j of (c(i, j) + rank(j)); `topo` is a topological order. */
export function upwardRanks(weights: number[], succs: number[][], topo: number[], comm?: (i: number, j: number) => number): number[] {
  const rank = new Array<number>(weights.length).fill(0);
  for (let k = topo.length - 1; k >= 0; k--) {
    const i = topo[k];
    let tail = 0;
    for (const j of succs[i]) tail = Math.max(tail, (comm ? comm(i, j) : 0) + rank[j]);
    rank[i] = weights[i] + tail;
  }
  return rank;
}

/** Ranks equal up to rounding count as a tie (the paper's n3 and n4 are both 80). */
function higher(rank: number[], a: number, b: number): boolean {
  const ra = rank[a];
  const rb = rank[b];
  if (Math.abs(ra - rb) > 1e-9 * Math.max(1, Math.abs(ra), Math.abs(rb))) return ra > rb;
  return a < b;
}

/** Tasks by decreasing rank, ties by index, each after all its predecessors. */
export function rankOrder(rank: number[], preds: number[][], succs: number[][]): number[] {
  const waiting = preds.map((p) => p.length);
  const heap: number[] = [];
  const push = (x: number) => {
    let i = heap.push(x) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!higher(rank, x, heap[up])) break;
      heap[i] = heap[up];
      i = up;
    }
    heap[i] = x;
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= heap.length) break;
        if (c + 1 < heap.length && higher(rank, heap[c + 1], heap[c])) c++;
        if (!higher(rank, heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  for (let i = 0; i < rank.length; i++) if (waiting[i] === 0) push(i);
  const order: number[] = [];
  while (heap.length > 0) {
    const i = pop();
    order.push(i);
    for (const j of succs[i]) if (--waiting[j] === 0) push(j);
  }
  return order;
}

/**
 * Cores and memory in use on one node (or processor) over time: segment s covers
 * [times[s], times[s+1]) with cores[s] and memory[s] in use; the last one runs to infinity and
 * is empty. Reservations only add, so the empty tail stays exactly 0.
 */
export class Timeline {
  readonly times: number[] = [0];
  readonly cores: number[] = [0];
  readonly memory: number[] = [0];
  /** Nothing is reserved from here on. */
  lastEnd = 0;

  constructor(
    readonly coreCapacity: number,
    readonly memoryCapacity: number,
  ) {}

  /** Index of the segment holding t. */
  private segmentAt(t: number): number {
    const times = this.times;
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Earliest t >= from at which c cores and m MB are free over [t, t + d), or Infinity if that
   * is later than `latest`. The task must fit the empty node.
   */
  earliestStart(from: number, d: number, c: number, m: number, latest = Infinity): number {
    const times = this.times;
    const cores = this.cores;
    const memory = this.memory;
    const n = times.length;
    const coreRoom = this.coreCapacity - c;
    const memoryRoom = this.memoryCapacity - m;
    let s = this.segmentAt(from);
    let t = from;
    search: for (;;) {
      if (t > latest) return Infinity;
      const end = t + d;
      let j = s;
      do {
        if (cores[j] > coreRoom || memory[j] > memoryRoom) {
          s = j + 1;
          t = times[s];
          continue search;
        }
        j++;
      } while (j < n && times[j] < end);
      return t;
    }
  }

  private split(t: number): number {
    const s = this.segmentAt(t);
    if (this.times[s] === t) return s;
    this.times.splice(s + 1, 0, t);
    this.cores.splice(s + 1, 0, this.cores[s]);
    this.memory.splice(s + 1, 0, this.memory[s]);
    return s + 1;
  }

  reserve(start: number, end: number, c: number, m: number): void {
    if (!(end > start)) return;
    const a = this.split(start);
    const b = this.split(end);
    for (let s = a; s < b; s++) {
      this.cores[s] += c;
      this.memory[s] += m;
    }
    if (end > this.lastEnd) this.lastEnd = end;
  }
}

/** Compute ranks, then place tasks one by one in rank order. */
function runHeft(weights: number[], preds: number[][], succs: number[][], topo: number[], comm: ((i: number, j: number) => number) | undefined, place: (i: number) => void): number[] {
  const rank = upwardRanks(weights, succs, topo, comm);
  for (const i of rankOrder(rank, preds, succs)) place(i);
  return rank;
}

// ---------------------------------------------------------------------------------------------
// The paper's form: a cost per task per processor, one task at a time per processor.

export interface MatrixPlan {
  rank: number[];
  /** The order tasks were placed in. */
  order: number[];
  processor: number[];
  start: number[];
  end: number[];
  makespan: number;
}

/**
 * HEFT as in the paper: `costs[i][p]` is task i's time on processor p, `edges` are [from, to]
 * task indices, `comm` maps `"from->to"` to the communication cost (paid only when the two
 * tasks run on different processors; 0 if absent).
 */
export function planHeftMatrix(costs: number[][], comm: Map<string, number>, edges: Array<[number, number]>): MatrixPlan {
  const n = costs.length;
  const p = n > 0 ? costs[0].length : 0;
  if (costs.some((row) => row.length !== p) || (n > 0 && p === 0)) throw new Error('every task needs one cost per processor');
  const preds = costs.map(() => [] as number[]);
  const succs = costs.map(() => [] as number[]);
  for (const [a, b] of edges) {
    if (!(a >= 0 && a < n && b >= 0 && b < n)) throw new Error(`edge ${a}->${b} names a task that does not exist`);
    preds[b].push(a);
    succs[a].push(b);
  }
  const topo = topoOrder(preds, succs);
  if (topo.length < n) throw new Error('the task graph has a cycle');
  const c = (i: number, j: number) => comm.get(`${i}->${j}`) ?? 0;
  const processors = Array.from({ length: p }, () => new Timeline(1, 0));
  const processor = new Array<number>(n).fill(-1);
  const start = new Array<number>(n).fill(0);
  const end = new Array<number>(n).fill(0);
  const order: number[] = [];
  const weights = costs.map((row) => row.reduce((s, x) => s + x, 0) / p);
  const rank = runHeft(weights, preds, succs, topo, c, (i) => {
    let bestEnd = Infinity;
    for (let q = 0; q < p; q++) {
      let ready = 0;
      for (const k of preds[i]) ready = Math.max(ready, end[k] + (processor[k] === q ? 0 : c(k, i)));
      const s = processors[q].earliestStart(ready, costs[i][q], 1, 0, bestEnd - costs[i][q]);
      if (s + costs[i][q] < bestEnd) {
        bestEnd = s + costs[i][q];
        start[i] = s;
        processor[i] = q;
      }
    }
    end[i] = bestEnd;
    processors[processor[i]].reserve(start[i], end[i], 1, 0);
    order.push(i);
  });
  return { rank, order, processor, start, end, makespan: end.reduce((a, b) => Math.max(a, b), 0) };
}

// ---------------------------------------------------------------------------------------------
// The node-aware planner.

interface ClassState {
  cls: NodeClass;
  nodes: Timeline[];
  /**
   * Node indices by lastEnd ascending, ties by index descending: byIdle[idle - 1] is the idle
   * node that became idle last, the lowest-numbered one among equals.
   */
  byIdle: number[];
}

/** Where (lastEnd, n) goes in byIdle: the first entry that does not sort before it. */
function slot(cs: ClassState, n: number, lastEnd: number): number {
  const { nodes, byIdle } = cs;
  let lo = 0;
  let hi = byIdle.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const x = byIdle[mid];
    const xEnd = nodes[x].lastEnd;
    if (xEnd < lastEnd || (xEnd === lastEnd && x > n)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many nodes of the class are idle from t on (they are byIdle[0 .. count)). */
function idleFrom(cs: ClassState, t: number): number {
  const { nodes, byIdle } = cs;
  let lo = 0;
  let hi = byIdle.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (nodes[byIdle[mid]].lastEnd <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function reserveOn(cs: ClassState, n: number, start: number, end: number, c: number, m: number): void {
  const node = cs.nodes[n];
  if (end <= node.lastEnd) {
    node.reserve(start, end, c, m);
    return;
  }
  cs.byIdle.splice(slot(cs, n, node.lastEnd), 1);
  node.reserve(start, end, c, m);
  cs.byIdle.splice(slot(cs, n, node.lastEnd), 0, n);
}

/**
 * Earliest start >= ready, and not after `latest`, at which k nodes of the class each have c
 * cores and m MB free for d seconds, with the nodes to use; undefined if none by `latest`.
 */
function searchClass(cs: ClassState, ready: number, d: number, c: number, m: number, k: number, latest: number): { start: number; nodes: number[] } | undefined {
  const { nodes, byIdle } = cs;
  // From here the k nodes idle soonest are all free: the answer is never later.
  const surely = Math.max(ready, nodes[byIdle[k - 1]].lastEnd);
  const limit = Math.min(surely, latest);
  let t = ready;
  while (t <= limit) {
    const idle = idleFrom(cs, t);
    if (k === 1 && idle === 0) {
      // Every node is busy after t: the best gap wins; a node free at t ends the search.
      let best = Infinity;
      let bestNode = -1;
      let cap = limit;
      for (let q = 0; q < byIdle.length; q++) {
        const s = nodes[byIdle[q]].earliestStart(t, d, c, m, cap);
        if (s < best) {
          best = s;
          bestNode = byIdle[q];
          cap = s;
          if (s === t) break;
        }
      }
      return bestNode < 0 ? undefined : { start: best, nodes: [bestNode] };
    }
    // Busy nodes free over [t, t+d) are taken first; with enough idle nodes only those count.
    const enoughIdle = idle >= k;
    const fit: number[] = [];
    const later: number[] = [];
    for (let q = idle; q < byIdle.length && fit.length + (enoughIdle ? 0 : idle) < k; q++) {
      const s = nodes[byIdle[q]].earliestStart(t, d, c, m, enoughIdle ? t : limit);
      if (s === t) fit.push(byIdle[q]);
      else if (s !== Infinity) later.push(s);
    }
    if (fit.length + idle >= k) {
      for (let q = idle - 1; fit.length < k; q--) fit.push(byIdle[q]);
      return { start: t, nodes: fit };
    }
    // Fewer than k nodes are free at t: the next time that can work is the one at which the
    // missing number of further nodes have become free.
    const missing = k - idle - fit.length;
    if (later.length >= missing) {
      later.sort((a, b) => a - b);
      t = later[missing - 1];
    } else {
      t = surely;
    }
  }
  return undefined;
}

export function nodeName(cls: NodeClass, i: number): string {
  return `${cls.name}-${String(i).padStart(String(cls.count - 1).length, '0')}`;
}

export interface HeftOptions extends PlanOptions {
  /** Backward-forward rounds after the HEFT pass (default IMPROVEMENT_ROUNDS; 0 = HEFT alone). */
  improvementRounds?: number;
}

/**
 * Plan `tasks` on a site of `nodeClasses` with HEFT (see the module comment). Throws an
 * UnplaceableTaskError naming the first task that fits no node class, and an Error for
 * malformed input (duplicate ids, unknown deps, cycles, non-positive ranks...).
 */
export function planHeft(tasks: PlanTask[], nodeClasses: NodeClass[], opts: HeftOptions = {}): Plan {
  checkNodeClasses(nodeClasses);
  const g = indexTasks(tasks, opts);
  const feet = footprints(tasks, nodeClasses);
  const weights = tasks.map((_, i) => {
    let time = 0;
    let count = 0;
    nodeClasses.forEach((cls, k) => {
      if (!feet[i][k]) return;
      time += (cls.count * g.runtime[i]) / cls.speed;
      count += cls.count;
    });
    return time / count;
  });
  const rank = upwardRanks(weights, g.succs, g.topo);
  const lowerBound = boundOf(tasks, nodeClasses, g, feet);
  const best = improve(placeAll(tasks, nodeClasses, g.preds, g.runtime, feet, rankOrder(rank, g.preds, g.succs)), (preds, order) => placeAll(tasks, nodeClasses, preds, g.runtime, feet, order), g, lowerBound, opts.improvementRounds ?? IMPROVEMENT_ROUNDS);
  const { start, end, classOf, nodesOf } = best;
  const placements: Placement[] = tasks.map((t, i) => {
    const cls = nodeClasses[classOf[i]];
    return {
      id: t.id,
      nodes: [...nodesOf[i]].sort((a, b) => a - b).map((x) => nodeName(cls, x)),
      coresPerNode: feet[i][classOf[i]]!.coresPerNode,
      memoryMBPerNode: feet[i][classOf[i]]!.memoryMBPerNode,
      start: start[i],
      end: end[i],
      rank: rank[i],
    };
  });
  return { placements, makespan: best.makespan, lowerBound, criticalPath: criticalPath(placements, g.preds) };
}

/** At most this many backward-forward rounds after the HEFT plan. */
export const IMPROVEMENT_ROUNDS = 8;
/** Stop after this many rounds in a row that found nothing shorter. */
const PATIENCE = 2;

/**
 * Forward-backward improvement (Li & Willis 1992; Valls, Ballestin & Quintanilla 2005): place
 * the tasks again on the reversed graph, latest-ending first, then forward again, earliest
 * backward start first. Each pass is a list schedule whose order comes from the previous
 * schedule, which pulls tasks that waited for room toward the gaps left by others. The backward
 * plan, read in reverse time, is itself a valid plan and is kept when shorter.
 */
function improve(first: Placed, place: (preds: number[][], order: number[]) => Placed, g: TaskGraph, lowerBound: number, rounds: number): Placed {
  let best = first;
  let fwd = first;
  for (let round = 0, stale = 0; round < rounds && stale < PATIENCE && best.makespan > lowerBound * (1 + 1e-9); round++) {
    const back = place(g.succs, rankOrder(fwd.end, g.succs, g.preds));
    fwd = place(g.preds, rankOrder(back.end, g.preds, g.succs));
    stale++;
    for (const plan of [mirror(back), fwd]) {
      if (plan.makespan < best.makespan - 1e-6) {
        best = plan;
        stale = 0;
      }
    }
  }
  return best;
}

/** A plan of the reversed graph as a plan of the graph: time runs from its makespan to 0. */
function mirror(p: Placed): Placed {
  return { ...p, start: p.end.map((e) => p.makespan - e), end: p.start.map((s) => p.makespan - s) };
}

interface Placed {
  start: number[];
  end: number[];
  classOf: number[];
  nodesOf: number[][];
  makespan: number;
}

/** Place tasks in `order` (a topological order), each where it finishes earliest. */
function placeAll(tasks: PlanTask[], nodeClasses: NodeClass[], preds: number[][], runtime: number[], feet: (Footprint | undefined)[][], order: number[]): Placed {
  const n = tasks.length;
  const states: ClassState[] = nodeClasses.map((cls) => ({
    cls,
    nodes: Array.from({ length: cls.count }, () => new Timeline(cls.coresPerNode, cls.memoryMBPerNode)),
    byIdle: Array.from({ length: cls.count }, (_, i) => cls.count - 1 - i),
  }));
  const start = new Array<number>(n).fill(0);
  const end = new Array<number>(n).fill(0);
  const classOf = new Array<number>(n).fill(-1);
  const nodesOf: number[][] = new Array(n);
  let makespan = 0;
  for (const i of order) {
    let ready = 0;
    for (const p of preds[i]) ready = Math.max(ready, end[p]);
    let bestEnd = Infinity;
    for (let k = 0; k < states.length; k++) {
      const f = feet[i][k];
      if (!f) continue;
      const d = runtime[i] / states[k].cls.speed;
      if (ready + d >= bestEnd) continue;
      const found = searchClass(states[k], ready, d, f.coresPerNode, f.memoryMBPerNode, f.nodes, bestEnd - d);
      if (found && found.start + d < bestEnd) {
        bestEnd = found.start + d;
        start[i] = found.start;
        classOf[i] = k;
        nodesOf[i] = found.nodes;
      }
    }
    // Every task fits some class, and a class always has a start (its k idle-soonest nodes).
    end[i] = bestEnd;
    if (bestEnd > makespan) makespan = bestEnd;
    const cs = states[classOf[i]];
    const f = feet[i][classOf[i]]!;
    for (const node of nodesOf[i]) reserveOn(cs, node, start[i], end[i], f.coresPerNode, f.memoryMBPerNode);
  }
  return { start, end, classOf, nodesOf, makespan };
}

/** See the module comment. */
function criticalPath(placements: Placement[], preds: number[][]): string[] {
  const n = placements.length;
  if (n === 0) return [];
  const onNode = new Map<string, number[]>();
  placements.forEach((p, i) => {
    for (const node of p.nodes) {
      const list = onNode.get(node);
      if (list) list.push(i);
      else onNode.set(node, [i]);
    }
  });
  let cur = 0;
  for (let i = 1; i < n; i++) if (placements[i].end > placements[cur].end) cur = i;
  const path: number[] = [];
  const seen = new Set<number>();
  for (;;) {
    path.push(cur);
    seen.add(cur);
    const here = placements[cur];
    let dep = -1;
    for (const p of preds[cur]) if (dep < 0 || placements[p].end > placements[dep].end) dep = p;
    const ready = dep < 0 ? 0 : placements[dep].end;
    let next = -1;
    if (dep >= 0 && ready >= here.start) {
      next = dep;
    } else if (here.start > ready) {
      // It waited for room: follow what ended last, by its start, on one of its nodes.
      for (const node of here.nodes) {
        for (const j of onNode.get(node)!) {
          const pj = placements[j];
          if (seen.has(j) || pj.end > here.start || pj.end <= pj.start) continue;
          if (next < 0 || pj.end > placements[next].end) next = j;
        }
      }
    }
    if (next < 0 || seen.has(next)) break;
    cur = next;
  }
  return path.reverse().map((i) => placements[i].id);
}
