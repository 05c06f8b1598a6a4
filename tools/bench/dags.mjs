// Synthetic campaigns for tools/bench-plan.mjs: each generator returns
// { name, tasks: PlanTask[], classes: NodeClass[] } (the shapes of
// packages/nx-campaign/src/planning/types.ts), deterministic for a given seed.
//
// Sizes follow what the campaigns we replace run: tiger3-like nodes (112 cores, 1,000,000 MB),
// SO null-test mapmaking (1 rank x 32 threads, 80-128 GB, 1-3 h), Rubin-like step fan-outs.

/** mulberry32: small, fast, good enough for benchmark shapes; same seed, same stream. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** real in [lo, hi) */
    real: (lo, hi) => lo + next() * (hi - lo),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}

export const tiger3 = (count) => ({ name: 'tiger3', count, coresPerNode: 112, memoryMBPerNode: 1_000_000, speed: 1 });

const task = (id, ranks, threads, memoryMBPerNode, runtimeSeconds, deps = [], nodes) => {
  const t = { id, ranks, threads, memoryMBPerNode: Math.round(memoryMBPerNode), runtimeSeconds: Math.round(runtimeSeconds), deps };
  if (nodes !== undefined) t.nodes = nodes;
  return t;
};

// ------------------------------------------------------------------ SO null tests

export const NULL_TESTS = ['mission', 'wafer', 'direction', 'pwv', 'elevation', 'day-night', 'moonrise-set', 'sun-close', 'moon-close'];

/**
 * socm's ml-null-tests: one shared preprocessing stage (4 nodes), then per null test
 * `splits` mapmaking jobs (1 rank x 32 threads, 80-128 GB, 1-3 h) and a coadd per test.
 * 9 x 4 = 36 mapmaking jobs. On 30 nodes they all fit at once (3 per node by cores);
 * on fewer nodes they queue.
 */
export function nullTestFanout({ seed = 1, nodes = 30, splits = 4 } = {}) {
  const r = rng(seed);
  const tasks = [task('preprocess', 16, 28, 200_000, 2700, [], 4)];
  for (const test of NULL_TESTS) {
    const maps = [];
    for (let s = 0; s < splits; s++) {
      const id = `map-${test}-split${s}`;
      maps.push(id);
      tasks.push(task(id, 1, 32, r.int(80, 128) * 1000, r.int(3600, 10_800), ['preprocess']));
    }
    tasks.push(task(`coadd-${test}`, 1, 8, 16_000, r.int(600, 1200), maps));
  }
  return { name: `null-tests ${NULL_TESTS.length}x${splits} on ${nodes}n`, tasks, classes: [tiger3(nodes)] };
}

// ------------------------------------------------------------------ layered random DAGs

/** A random task: mostly serial, some threaded, some wide MPI, a few explicitly multi-node. */
function randomTask(r, id, deps, { maxCores = 112 } = {}) {
  const u = r.next();
  if (u < 0.6) return task(id, 1, 1, r.int(1, 8) * 1000, r.int(60, 1800), deps);
  if (u < 0.85) {
    const threads = r.pick([4, 8, 16, 32, 56, 112].filter((t) => t <= maxCores));
    return task(id, 1, threads, r.int(4, 64) * 1000, r.int(600, 7200), deps);
  }
  if (u < 0.97) {
    // wide MPI: ranks x threads may exceed a node; the planner takes the fewest nodes that hold it
    const threads = r.pick([1, 2, 4]);
    return task(id, r.int(8, 224), threads, r.int(16, 200) * 1000, r.int(1800, 10_800), deps);
  }
  const n = r.int(2, 16);
  const perNode = r.pick([1, 2, 4, 8]);
  return task(id, n * perNode, Math.floor(maxCores / perNode), r.int(100, 500) * 1000, r.int(3600, 14_400), deps, n);
}

/**
 * `n` stages in random-width layers, each stage with 1-3 parents: one from the previous layer,
 * the others from the previous three layers.
 */
export function layeredRandom({ n, nodes = 500, seed = 7, classes } = {}) {
  const r = rng(seed + n);
  const cls = classes ?? [tiger3(nodes)];
  const maxCores = Math.min(...cls.map((c) => c.coresPerNode));
  const layerCount = Math.max(2, Math.round(Math.sqrt(n) / 1.5));
  const avg = n / layerCount;
  const layers = [];
  let made = 0;
  const tasks = [];
  while (made < n) {
    const width = Math.min(n - made, Math.max(1, Math.round(avg * r.real(0.3, 1.7))));
    const layer = [];
    for (let i = 0; i < width; i++) {
      const id = `s${String(made).padStart(5, '0')}`;
      const deps = new Set();
      const L = layers.length;
      if (L > 0) {
        deps.add(r.pick(layers[L - 1]));
        const extra = r.int(0, 2);
        for (let k = 0; k < extra; k++) deps.add(r.pick(layers[Math.max(0, L - 1 - r.int(0, 2))]));
      }
      tasks.push(randomTask(r, id, [...deps], { maxCores }));
      layer.push(id);
      made++;
    }
    layers.push(layer);
  }
  const nodeCount = cls.reduce((s, c) => s + c.count, 0);
  return { name: `layered ${n} on ${nodeCount}n`, tasks, classes: cls };
}

// ------------------------------------------------------------------ memory-bound

/**
 * Memory, not cores, limits how many share a node: 1 root, then `width` tasks of 8 threads and
 * 300-450 GB (2-3 per node by memory, 14 by cores), mixed with 96-thread tasks of 50 GB that
 * fit beside them, then a gather. A planner that packs by cores only overcommits memory.
 */
export function memoryBound({ seed = 3, nodes = 20, width = 200 } = {}) {
  const r = rng(seed);
  const tasks = [task('ingest', 1, 16, 64_000, 600)];
  const mids = [];
  for (let i = 0; i < width; i++) {
    const id = `mem-${String(i).padStart(3, '0')}`;
    mids.push(id);
    if (r.next() < 0.75) tasks.push(task(id, 1, 8, r.int(300, 450) * 1000, r.int(1800, 5400), ['ingest']));
    else tasks.push(task(id, 1, 96, 50_000, r.int(1800, 5400), ['ingest']));
  }
  tasks.push(task('gather', 1, 4, 32_000, 900, mids));
  return { name: `memory-bound ${width} on ${nodes}n`, tasks, classes: [tiger3(nodes)] };
}

/** 600 GB tasks (one per node) beside small serial tasks that should fill the rest of the node. */
export function memoryHogs({ seed = 4, nodes = 10 } = {}) {
  const r = rng(seed);
  const tasks = [];
  for (let i = 0; i < 40; i++) tasks.push(task(`hog-${i}`, 1, 4, 600_000, r.int(3600, 7200)));
  for (let i = 0; i < 400; i++) tasks.push(task(`small-${i}`, 1, 1, 2000, r.int(300, 1800)));
  for (let i = 0; i < 20; i++) tasks.push(task(`post-${i}`, 1, 2, 300_000, r.int(600, 1800), [`hog-${2 * i}`, `hog-${2 * i + 1}`]));
  return { name: `memory-hogs 460 on ${nodes}n`, tasks, classes: [tiger3(nodes)] };
}

// ------------------------------------------------------------------ long chains

/**
 * A `length`-stage chain; every few stages a side branch of 1-5 tasks that either rejoins the
 * chain a few stages later (sometimes long enough to become the critical path) or ends as a leaf.
 */
export function longChain({ length = 200, seed = 5, nodes = 20 } = {}) {
  const r = rng(seed);
  const tasks = [];
  const joins = new Map(); // chain index -> side-branch ids it waits for
  for (let i = 0; i < length; i++) {
    const id = `c${String(i).padStart(3, '0')}`;
    const deps = i > 0 ? [`c${String(i - 1).padStart(3, '0')}`] : [];
    deps.push(...(joins.get(i) ?? []));
    tasks.push(task(id, 1, r.pick([8, 16, 32, 56, 112]), r.int(16, 256) * 1000, r.int(300, 1800), deps));
    if (i % 5 === 2) {
      const k = r.int(1, 5);
      const ids = [];
      for (let b = 0; b < k; b++) {
        const bid = `${id}-side${b}`;
        ids.push(bid);
        tasks.push(task(bid, r.int(1, 4) * 28, 1, r.int(32, 400) * 1000, r.int(600, 6000), [id]));
      }
      const joinAt = i + r.int(2, 8);
      if (r.next() < 0.6 && joinAt < length) joins.set(joinAt, [...(joins.get(joinAt) ?? []), ...ids]);
    }
  }
  return { name: `chain ${length} + sides on ${nodes}n`, tasks, classes: [tiger3(nodes)] };
}

// ------------------------------------------------------------------ Rubin-like steps

/**
 * Rubin-like multi-step campaign: step1 per (visit, detector) wide fan-out; step2a per-visit
 * gather; step2b one global calibration then per-tract calibration (each visit overlaps 1-2
 * tracts); step3 per-patch coadd fan-out and a per-tract gather; step4 per (visit, detector)
 * forced photometry after its tracts' object tables.
 */
export function rubinLike({ seed = 6, nodes = 10, visits = 120, detectors = 12, tracts = 3, patches = 49 } = {}) {
  const r = rng(seed);
  const tasks = [];
  const visitTracts = [];
  for (let v = 0; v < visits; v++) {
    const t0 = r.int(0, tracts - 1);
    visitTracts.push(r.next() < 0.3 && t0 + 1 < tracts ? [t0, t0 + 1] : [t0]);
    const dets = [];
    for (let d = 0; d < detectors; d++) {
      const id = `step1-v${v}-d${d}`;
      dets.push(id);
      tasks.push(task(id, 1, 1, 4000, r.int(300, 900)));
    }
    tasks.push(task(`step2a-v${v}`, 1, 1, 8000, r.int(60, 180), dets));
  }
  tasks.push(task('step2b-fgcm', 1, 32, 200_000, 3600, Array.from({ length: visits }, (_, v) => `step2a-v${v}`)));
  for (let t = 0; t < tracts; t++) {
    const vs = visitTracts.flatMap((ts, v) => (ts.includes(t) ? [`step2a-v${v}`] : []));
    tasks.push(task(`step2b-jointcal-t${t}`, 1, 8, 64_000, r.int(1200, 2400), ['step2b-fgcm', ...vs]));
    const ps = [];
    for (let p = 0; p < patches; p++) {
      const id = `step3-coadd-t${t}-p${p}`;
      ps.push(id);
      tasks.push(task(id, 1, 4, 16_000, r.int(1200, 3600), [`step2b-jointcal-t${t}`]));
    }
    tasks.push(task(`step3-objtable-t${t}`, 1, 1, 32_000, 600, ps));
  }
  for (let v = 0; v < visits; v++) {
    const deps = visitTracts[v].map((t) => `step3-objtable-t${t}`);
    for (let d = 0; d < detectors; d++) tasks.push(task(`step4-forced-v${v}-d${d}`, 1, 1, 4000, r.int(200, 400), deps));
  }
  return { name: `rubin-like ${tasks.length} on ${nodes}n`, tasks, classes: [tiger3(nodes)] };
}

// ------------------------------------------------------------------ heterogeneous site

/**
 * Two node classes: 16 fast nodes (64 cores, 512 GB, speed 1.5) and 48 slower tiger3 nodes.
 * 112-thread tasks only fit the slow class; the rest should prefer the fast one while it is free.
 */
export function heterogeneous({ n = 500, seed = 8 } = {}) {
  const classes = [
    { name: 'fast', count: 16, coresPerNode: 64, memoryMBPerNode: 512_000, speed: 1.5 },
    { name: 'tiger3', count: 48, coresPerNode: 112, memoryMBPerNode: 1_000_000, speed: 1 },
  ];
  const g = layeredRandom({ n, seed, classes: [tiger3(48)] }); // draw shapes against the big nodes
  // explicit multi-node tasks were sized for 112-core nodes: keep them on the class that holds them
  return { name: `heterogeneous ${n} on 16 fast + 48 slow`, tasks: g.tasks, classes };
}

/**
 * The cases bench-plan.mjs runs, in order. The 500-node layered DAGs are the planning-time
 * targets (there the critical path binds); the 50- and 100-node ones, the 6-node null tests, the
 * 4-node Rubin-like campaign and the 3-node chain are contended, where the order of tasks
 * matters. `quick` drops the 10,000-stage cases.
 */
export function allCases({ quick = false } = {}) {
  const cases = [
    nullTestFanout({ nodes: 30 }),
    nullTestFanout({ nodes: 6 }),
    layeredRandom({ n: 20 }),
    layeredRandom({ n: 100 }),
    layeredRandom({ n: 1000 }),
  ];
  if (!quick) cases.push(layeredRandom({ n: 10_000 }));
  cases.push(layeredRandom({ n: 1000, nodes: 50 }));
  if (!quick) cases.push(layeredRandom({ n: 10_000, nodes: 100 }));
  cases.push(memoryBound(), memoryHogs(), longChain({ nodes: 3 }), rubinLike({ nodes: 4 }), heterogeneous());
  return cases;
}
