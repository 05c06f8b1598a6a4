import { ConfigError, type Problem } from '../format/errors';
import { type Stage } from '../model/stage';
import type { Dag, InputSource } from '../model/run';
import { NAME_PATTERN, NAME_RULE } from '../format/names';


/**
 * Join stages into a DAG through produced/consumed data keys and explicit `depends`.
 * Every mistake is reported at once, each at the stage that makes it.
 */
export function buildDag(stageList: Stage[], runInputs: Record<string, string>, runFile: string, lineOf: (source: Stage['source']) => number | undefined = () => undefined, noneInputs: readonly string[] = []): Dag {
  const where = (s: Stage) => ({ file: s.source.file, line: lineOf(s.source), key: s.name });
  const problems: Problem[] = [];
  const stages = new Map<string, Stage>();
  for (const s of stageList) {
    if (!NAME_PATTERN.test(s.name)) problems.push({ ...where(s), key: s.name.slice(0, 100), message: `stage name ${JSON.stringify(s.name.length > 100 ? `${s.name.slice(0, 100)}...` : s.name)} is not a name`, fix: `use ${NAME_RULE}` });
    const prior = stages.get(s.name);
    if (prior) problems.push({ ...where(s), message: `stage "${s.name}" is listed twice (also ${prior.source.file}:${lineOf(prior.source) ?? '?'})`, fix: 'rename one; a stage may belong to only one pipeline of a run' });
    else stages.set(s.name, s);
  }
  const runInputByPath = new Map(Object.entries(runInputs).map(([tag, path]) => [path, tag]));
  const producers = new Map<string, { stage: string; path: string }>();
  for (const s of stages.values()) {
    for (const o of s.outputs) {
      for (const key of new Set([o.key, o.path])) {
        const prior = producers.get(key);
        if (prior && prior.stage !== s.name) problems.push({ ...where(s), message: `output "${key}" is also produced by stage "${prior.stage}"`, fix: 'give one of them another name (ceci: an alias)' });
        else producers.set(key, { stage: s.name, path: o.path });
      }
      if (o.key in runInputs || o.path in runInputs) problems.push({ ...where(s), message: `output "${o.key}" is also an input of the run (${runFile})`, fix: `remove it from the run's inputs, or alias the stage's output` });
    }
  }
  // Before a stage runs its earlier outputs are removed, a folder with all it holds.
  for (const s of stages.values()) {
    for (const o of s.outputs) {
      for (let dir = o.path.slice(0, o.path.lastIndexOf('/')); dir; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/')))) {
        const holder = producers.get(dir);
        if (holder && holder.stage !== s.name && holder.path === dir) {
          problems.push({ ...where(s), message: `output "${o.path}" is inside output "${dir}" of stage "${holder.stage}", which removes it each time it runs`, fix: `write it outside ${dir}/` });
          break;
        }
      }
    }
  }
  const parents = new Map<string, string[]>();
  const sources = new Map<string, Map<string, InputSource>>();
  const missing = new Map<string, string[]>();
  for (const s of stages.values()) {
    const ps = new Set<string>();
    const src = new Map<string, InputSource>();
    for (const key of s.inputs) {
      const producer = producers.get(key);
      if (producer && producer.stage !== s.name) {
        ps.add(producer.stage);
        src.set(key, { kind: 'stage', stage: producer.stage, path: producer.path });
      } else if (key in runInputs) {
        src.set(key, { kind: 'run-input', tag: key, path: runInputs[key] });
      } else if (runInputByPath.has(key)) {
        src.set(key, { kind: 'run-input', tag: runInputByPath.get(key)!, path: key });
      } else if (!noneInputs.includes(key)) {
        missing.set(key, [...(missing.get(key) ?? []), s.name]);
      }
    }
    for (const d of s.depends) {
      if (!stages.has(d)) {
        const others = [...stages.keys()].filter((n) => n !== s.name);
        problems.push({ ...where(s), message: `depends on unknown stage "${d}"`, fix: others.length ? `use one of: ${others.join(', ')}` : 'remove it: this is the only stage' });
      }
      else ps.add(d);
    }
    parents.set(s.name, [...ps]);
    sources.set(s.name, src);
  }
  for (const [key, needers] of missing) {
    const first = stages.get(needers[0])!;
    problems.push({ ...where(first), key: `${first.name}.inputs`, message: `input "${key}" is produced by no stage and not given by the run; needed by: ${needers.join(', ')}`, fix: `add "${key}: <path>" under inputs: in ${runFile}, or add the stage that produces it` });
  }
  if (problems.length) throw new ConfigError(problems);

  const children = new Map<string, string[]>([...stages.keys()].map((n) => [n, []]));
  for (const [n, ps] of parents) for (const p of ps) children.get(p)!.push(n);
  const order = topologicalOrder([...stages.keys()], parents, children);
  if (order.length < stages.size) {
    const cycle = findCycle(stages, parents);
    const s = stages.get(cycle[0])!;
    // A long cycle is shown by its ends: the message stays one readable line.
    const shown = cycle.length > 12 ? [...cycle.slice(0, 6), `... ${cycle.length - 10} more ...`, ...cycle.slice(-4)] : cycle;
    throw new ConfigError([{ ...where(s), message: `the stages form a cycle: ${shown.join(' -> ')}${cycle.length > 12 ? ` (${cycle.length - 1} stages)` : ''}`, fix: 'remove one of these dependencies (an input, output or depends entry)' }]);
  }
  return { order, stages, parents, children, sources };
}

/** Kahn's algorithm; among ready stages the earliest declared goes first (a binary heap). */
function topologicalOrder(names: string[], parents: Map<string, string[]>, children: Map<string, string[]>): string[] {
  const indegree = new Map(names.map((n) => [n, parents.get(n)!.length]));
  const rank = new Map(names.map((n, i) => [n, i]));
  const heap: number[] = [];
  const push = (i: number) => {
    heap.push(i);
    for (let c = heap.length - 1, p = (c - 1) >> 1; c > 0 && heap[p] > heap[c]; c = p, p = (c - 1) >> 1) [heap[p], heap[c]] = [heap[c], heap[p]];
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let p = 0; ; ) {
        const l = 2 * p + 1, r = l + 1;
        let m = p;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === p) break;
        [heap[p], heap[m]] = [heap[m], heap[p]];
        p = m;
      }
    }
    return top;
  };
  names.forEach((n, i) => indegree.get(n) === 0 && push(i));
  const order: string[] = [];
  while (heap.length) {
    const n = names[pop()];
    order.push(n);
    for (const c of children.get(n)!) {
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) push(rank.get(c)!);
    }
  }
  return order;
}

/** A cycle among `stages`, by an iterative depth-first walk (a recursive one overflows the stack on long chains). */
function findCycle(stages: Map<string, Stage>, parents: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of stages.keys()) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const next: number[] = [];
    const enter = (n: string) => {
      state.set(n, 'open');
      path.push(n);
      next.push(0);
    };
    enter(start);
    while (path.length) {
      const n = path[path.length - 1];
      const ps = parents.get(n) ?? [];
      const i = next[next.length - 1]++;
      if (i >= ps.length) {
        state.set(n, 'done');
        path.pop();
        next.pop();
        continue;
      }
      const p = ps[i];
      if (state.get(p) === 'open') return [...path.slice(path.indexOf(p)), p].reverse();
      if (!state.has(p)) enter(p);
    }
  }
  return [];
}

export function ancestors(dag: Dag, name: string): Set<string> {
  return closure(dag.parents, name);
}

export function descendants(dag: Dag, name: string): Set<string> {
  return closure(dag.children, name);
}

function closure(edges: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...(edges.get(start) ?? [])];
  while (todo.length) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    todo.push(...(edges.get(n) ?? []));
  }
  return seen;
}

/**
 * ceci's trimming: `from` keeps those stages and their descendants, `to` keeps those
 * stages and their ancestors; given both, the stages between them.
 */
export function trimDag(dag: Dag, from: string[], to: string[]): Set<string> {
  let keep = new Set(dag.order);
  if (from.length) keep = new Set(from.flatMap((f) => [f, ...descendants(dag, f)]));
  if (to.length) {
    const upstream = new Set(to.flatMap((t) => [t, ...ancestors(dag, t)]));
    keep = new Set([...keep].filter((n) => upstream.has(n)));
  }
  return keep;
}

/** Longest path (by runtime) from each stage to the end of the DAG, the stage included. */
export function remainingPathSeconds(dag: Dag): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of [...dag.order].reverse()) {
    const tail = Math.max(0, ...dag.children.get(n)!.map((c) => out.get(c)!));
    out.set(n, dag.stages.get(n)!.resources.runtimeSeconds + tail);
  }
  return out;
}
