// The planner nx-campaign replaces: socm's "HEFT" (so_campaign_manager, planner/heft_planner.py),
// re-implemented for tools/bench-plan.mjs as the baseline to beat.
//
// What socm does (REFERENCE.md section 1 and its source):
//   - order: DAG level, then longest runtime first (REFERENCE); socm's code sorts the
//     topologically ordered workflows by walltime, longest first, which puts children before
//     parents: with dependencies respected (below) the level order is the one that works;
//   - the allocation is one flat array of nodes x cores "cores" (node boundaries ignored); a task
//     needing c cores may only take an aligned block [k*c, (k+1)*c) (socm steps its candidate
//     index by c), so blocks can straddle nodes and odd sizes fragment the array;
//   - each core remembers when it is next free (the end of the last task put on it: no gaps are
//     reused); a block's start is the latest free time of its cores; the block with the earliest
//     finish wins, the lowest index on ties;
//   - memory is one pool (nodes x memory per node); a block is acceptable if the pool has the
//     task's memory free at the block's start instant only, so a task can be started into a
//     moment where, later in its run, other tasks push the pool over capacity;
//   - speeds: socm's site has one kind of node and no speeds; on a mixed site it still picks by
//     the nominal runtime, and the task then takes runtime / (slowest speed in its block).
// What we add so the makespan is comparable with a real plan:
//   - dependencies are respected: a block's start is also at least the end of every dependency
//     (socm's runtime follows core-reuse order, not the data DAG, and would start too early);
//   - where socm would give up (no block with memory free at its start: it then plans the task
//     at time infinity), we wait for the first task end after which the pool has room.
// A task's memory is memoryMBPerNode x its nodes (`nodes`, else the fewest nodes of any class
// that hold its ranks): socm has one memory figure per task.
//
// The flat pool is optimistic: a 32-thread rank given cores on two nodes cannot run, and a
// pool with 600 GB free spread over two nodes does not hold a 600 GB task. So there is a
// second baseline, planSocmOnNodes: socm's order and core-reuse rule on real nodes (below).

/** Fewest nodes of class `cls` that hold the task's ranks (a rank's threads stay on one node). */
export function fewestNodes(t, cls) {
  if (t.nodes) return t.nodes;
  const ranksPerNode = Math.floor(cls.coresPerNode / t.threads);
  if (ranksPerNode < 1) return Infinity;
  return Math.ceil(t.ranks / ranksPerNode);
}

/**
 * How the task sits on nodes of `cls`: { nodes, coresPerNode } (its ranks spread evenly when it
 * names its node count, else as many per node as fit), or undefined if it cannot run there.
 */
export function fitOn(t, cls) {
  const ranksPerNode = Math.floor(cls.coresPerNode / t.threads);
  if (ranksPerNode < 1 || t.memoryMBPerNode > cls.memoryMBPerNode) return undefined;
  const nodes = t.nodes ?? Math.ceil(t.ranks / ranksPerNode);
  const ranksOnNode = t.nodes ? Math.ceil(t.ranks / t.nodes) : Math.min(t.ranks, ranksPerNode);
  if (ranksOnNode > ranksPerNode || nodes > cls.count) return undefined;
  return { nodes, coresPerNode: ranksOnNode * t.threads };
}

/** Longest-path level from the roots (roots are level 0), in input order; throws on cycles. */
export function dagLevels(tasks) {
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const indeg = new Int32Array(tasks.length);
  const children = tasks.map(() => []);
  tasks.forEach((t, i) => {
    for (const d of t.deps) {
      const j = index.get(d);
      if (j === undefined) throw new Error(`task ${t.id}: unknown dependency ${d}`);
      children[j].push(i);
      indeg[i]++;
    }
  });
  const level = new Int32Array(tasks.length);
  const queue = [];
  indeg.forEach((d, i) => d === 0 && queue.push(i));
  for (let h = 0; h < queue.length; h++) {
    const i = queue[h];
    for (const j of children[i]) {
      if (level[i] + 1 > level[j]) level[j] = level[i] + 1;
      if (--indeg[j] === 0) queue.push(j);
    }
  }
  if (queue.length !== tasks.length) throw new Error('dependency cycle');
  return { level, order: queue, index };
}

/**
 * Plan `tasks` on `classes` the socm way. Returns { placements: [{ id, start, end, firstCore,
 * cores, memoryMB }], makespan, poolMemoryMB, peakPoolMemoryMB, straddling }: `peakPoolMemoryMB`
 * above `poolMemoryMB` means the start-instant memory check let the pool overflow; `straddling`
 * counts tasks that fit one node but were given a block across two.
 */
export function planSocmBaseline(tasks, classes) {
  const { level, index } = dagLevels(tasks);
  const totalCores = classes.reduce((s, c) => s + c.count * c.coresPerNode, 0);
  const poolMemoryMB = classes.reduce((s, c) => s + c.count * c.memoryMBPerNode, 0);
  // core ranges of each class, in order (node-major inside a class)
  const ranges = [];
  let at = 0;
  for (const c of classes) {
    ranges.push({ lo: at, hi: at + c.count * c.coresPerNode, speed: c.speed, coresPerNode: c.coresPerNode });
    at += c.count * c.coresPerNode;
  }
  const slowest = (lo, hi) => Math.min(...ranges.filter((g) => g.lo < hi && lo < g.hi).map((g) => g.speed));
  const nodeOf = (core) => {
    for (const g of ranges) if (core < g.hi) return `${g.lo}:${Math.floor((core - g.lo) / g.coresPerNode)}`;
    return '?';
  };

  const order = tasks.map((_, i) => i).sort((a, b) => level[a] - level[b] || tasks[b].runtimeSeconds - tasks[a].runtimeSeconds || a - b);
  const free = new Float64Array(totalCores);
  const end = new Float64Array(tasks.length);
  const placed = []; // { start, end, memoryMB } in placement order, for the pool checks
  const placements = new Array(tasks.length);
  const poolUse = (t) => {
    let used = 0;
    for (const p of placed) if (p.start <= t && t < p.end) used += p.memoryMB;
    return used;
  };
  let straddling = 0;

  for (const i of order) {
    const t = tasks[i];
    const c = t.ranks * t.threads;
    const mem = t.memoryMBPerNode * Math.min(...classes.map((k) => fewestNodes(t, k)));
    if (c > totalCores) throw new Error(`socm baseline: task ${t.id} needs ${c} cores, the allocation has ${totalCores}`);
    if (!(mem <= poolMemoryMB)) throw new Error(`socm baseline: task ${t.id} needs ${mem} MB, the pool has ${poolMemoryMB}`);
    let ready = 0;
    for (const d of t.deps) ready = Math.max(ready, end[index.get(d)]);
    const fits = (s) => poolUse(s) + mem <= poolMemoryMB;
    const blocks = Math.floor(totalCores / c);
    const blockStart = (k) => {
      let s = ready;
      for (let x = k * c, e = x + c; x < e; x++) if (free[x] > s) s = free[x];
      return s;
    };
    // usual case: the earliest block (lowest index on ties) has the memory at its start
    let bestK = -1;
    let best = Infinity;
    for (let k = 0; k < blocks; k++) {
      const s = blockStart(k);
      if (s < best) {
        best = s;
        bestK = k;
        if (s === ready) break; // nothing starts earlier
      }
    }
    let start = best;
    if (!fits(best)) {
      // socm tries every block, each checked at its own start; take the earliest that fits
      const cand = [];
      for (let k = 0; k < blocks; k++) cand.push([blockStart(k), k]);
      cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      bestK = -1;
      for (let q = 0; q < cand.length; q++) {
        if (q > 0 && cand[q][0] === cand[q - 1][0]) continue;
        if (fits(cand[q][0])) {
          [start, bestK] = cand[q];
          break;
        }
      }
      if (bestK < 0) {
        // socm would plan it at infinity: wait for the first end after which the pool has room
        const ends = [...new Set(placed.map((p) => p.end))].filter((e) => e > cand[0][0]).sort((a, b) => a - b);
        for (const e of ends) {
          if (fits(e)) {
            start = e;
            bestK = cand.find(([s]) => s <= e)[1];
            break;
          }
        }
        if (bestK < 0) throw new Error(`socm baseline: no time at which task ${t.id} fits`);
      }
    }
    const lo = bestK * c;
    const finish = start + t.runtimeSeconds / slowest(lo, lo + c);
    for (let x = lo; x < lo + c; x++) free[x] = finish;
    end[i] = finish;
    placed.push({ start, end: finish, memoryMB: mem });
    placements[i] = { id: t.id, start, end: finish, firstCore: lo, cores: c, memoryMB: mem };
    const g = ranges.find((r) => lo < r.hi);
    if (c <= g.coresPerNode && nodeOf(lo) !== nodeOf(lo + c - 1)) straddling++;
  }

  // the pool's real peak, over every instant (socm looked at start instants only)
  const ev = [];
  for (const p of placed) if (p.end > p.start) ev.push([p.start, p.memoryMB], [p.end, -p.memoryMB]);
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let use = 0;
  let peakPoolMemoryMB = 0;
  for (const [, d] of ev) {
    use += d;
    if (use > peakPoolMemoryMB) peakPoolMemoryMB = use;
  }
  const makespan = placements.reduce((m, p) => Math.max(m, p.end), 0);
  return { placements, makespan, poolMemoryMB, peakPoolMemoryMB, straddling };
}

/**
 * socm's rules on real nodes, the baseline a node-aware planner must beat: the same order
 * (level, then longest runtime), the same per-core "free from" times with no reuse of gaps and
 * aligned blocks, but a block lies inside one node (blocks of the task's cores per node, stepped
 * by that size within the node) and a task on k nodes takes one block on each of k nodes of one
 * class at a common start; memory is per node and checked over the task's whole run (a start is
 * delayed until it fits). Among nodes, the earliest start wins (socm does not look at speeds),
 * then the first class, then the lowest node. Returns a Plan-shaped { placements, makespan }
 * (node ids `<class>-<index>`) so the same checker can verify it.
 */
export function planSocmOnNodes(tasks, classes) {
  const { level, index } = dagLevels(tasks);
  const order = tasks.map((_, i) => i).sort((a, b) => level[a] - level[b] || tasks[b].runtimeSeconds - tasks[a].runtimeSeconds || a - b);
  const state = classes.map((cls) => ({
    cls,
    free: Array.from({ length: cls.count }, () => new Float64Array(cls.coresPerNode)),
    minFree: new Float64Array(cls.count),
    mem: Array.from({ length: cls.count }, () => []), // [start, end, MB] still relevant
  }));
  const end = new Float64Array(tasks.length);
  const placements = new Array(tasks.length);

  // earliest t >= s at which `m` MB more fit on the node over [t, t + d)
  const memoryFrom = (list, cap, s, d, m) => {
    const active = list.filter((iv) => iv[1] > s);
    const fitsAt = (t) => {
      const w = active.filter((iv) => iv[0] < t + d && iv[1] > t);
      if (!w.length) return m <= cap;
      // usage peaks at t or at some interval start inside the window
      const points = [t, ...w.map((iv) => iv[0]).filter((x) => x > t)];
      for (const p of points) {
        let u = m;
        for (const iv of w) if (iv[0] <= p && p < iv[1]) u += iv[2];
        if (u > cap) return false;
      }
      return true;
    };
    if (fitsAt(s)) return s;
    for (const e of [...new Set(active.map((iv) => iv[1]))].sort((a, b) => a - b)) if (e > s && fitsAt(e)) return e;
    return Infinity; // cannot happen for a task that fits the empty node
  };
  const pad = (cls, i) => String(i).padStart(String(cls.count - 1).length, '0');

  for (const i of order) {
    const t = tasks[i];
    let ready = 0;
    for (const d of t.deps) ready = Math.max(ready, end[index.get(d)]);
    let best; // { start, k, nodes: [[node, block]], dur }
    for (let k = 0; k < state.length; k++) {
      const st = state[k];
      const f = fitOn(t, st.cls);
      if (!f) continue;
      const q = f.coresPerNode;
      const blocks = Math.floor(st.cls.coresPerNode / q);
      const dur = t.runtimeSeconds / st.cls.speed;
      // each node's earliest block (lowest block on ties)
      const cand = [];
      for (let n = 0; n < st.cls.count; n++) {
        const fr = st.free[n];
        let bs = Infinity;
        let bb = 0;
        for (let b = 0; b < blocks; b++) {
          let s = ready;
          for (let x = b * q, e = x + q; x < e; x++) if (fr[x] > s) s = fr[x];
          if (s < bs) {
            bs = s;
            bb = b;
            if (s === ready) break;
          }
        }
        cand.push([bs, n, bb]);
      }
      cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const cap = st.cls.memoryMBPerNode;
      if (f.nodes === 1) {
        for (const [s, n, b] of cand) {
          if (best && s >= best.start) break;
          const start = memoryFrom(st.mem[n], cap, s, dur, t.memoryMBPerNode);
          if (!best || start < best.start) best = { start, k, nodes: [[n, b]], dur };
        }
      } else {
        // a common start on f.nodes nodes: try each node's own earliest start, in order
        const own = cand.map(([s, n, b]) => [memoryFrom(st.mem[n], cap, s, dur, t.memoryMBPerNode), n, b, s]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        for (const [T] of own) {
          if (best && T >= best.start) break;
          const ok = own.filter(([, n, , s]) => s <= T && memoryFrom(st.mem[n], cap, T, dur, t.memoryMBPerNode) === T);
          if (ok.length >= f.nodes) {
            best = { start: T, k, nodes: ok.slice(0, f.nodes).map(([, n, b]) => [n, b]), dur };
            break;
          }
        }
        if (!best || best.k !== k) {
          // everything this class has is free after its last end
          let T = ready;
          for (let n = 0; n < st.cls.count; n++) for (const x of st.free[n]) T = Math.max(T, x);
          for (const list of st.mem) for (const iv of list) T = Math.max(T, iv[1]);
          if (!best || T < best.start) best = { start: T, k, nodes: Array.from({ length: f.nodes }, (_, n) => [n, 0]), dur };
        }
      }
    }
    if (!best) throw new Error(`socm-on-nodes baseline: task ${t.id} fits no node class`);
    const st = state[best.k];
    const f = fitOn(t, st.cls);
    const finish = best.start + best.dur;
    for (const [n, b] of best.nodes) {
      const fr = st.free[n];
      for (let x = b * f.coresPerNode, e = x + f.coresPerNode; x < e; x++) fr[x] = finish;
      st.minFree[n] = fr.reduce((a, x) => Math.min(a, x), Infinity);
      // intervals over before this node's earliest free core can no longer matter
      st.mem[n] = st.mem[n].filter((iv) => iv[1] > st.minFree[n]);
      if (best.dur > 0) st.mem[n].push([best.start, finish, t.memoryMBPerNode]);
    }
    end[i] = finish;
    placements[i] = {
      id: t.id,
      nodes: best.nodes.map(([n]) => `${st.cls.name}-${pad(st.cls, n)}`),
      coresPerNode: f.coresPerNode,
      memoryMBPerNode: t.memoryMBPerNode,
      start: best.start,
      end: finish,
      rank: -level[i], // not a HEFT rank: only so the checker's fields are present
    };
  }
  const makespan = placements.reduce((m, p) => Math.max(m, p.end), 0);
  return { placements, makespan };
}
