// WfCommons workflow instances (https://github.com/wfcommons/WfFormat) as planner input, for
// tools/bench-plan.mjs. Drop real instances (e.g. from wfcommons/pegasus-instances,
// wfcommons/makeflow-instances) into tools/bench/data/ and the benchmark plans them too.
//
// Accepted shapes:
//   - schema 1.4-1.6: workflow.specification.tasks[] { id, name, parents[], children[] } and
//     workflow.execution.tasks[] { id, runtimeInSeconds, coreCount, memoryInBytes },
//     optionally workflow.execution.machines[] { nodeName, cpu.coreCount, memoryInBytes };
//   - schema 1.0-1.3: flat workflow.tasks[] (1.3) or workflow.jobs[] (1.0-1.2) with { name, id?,
//     parents[], children[]?, runtime | runtimeInSeconds, cores, memory (KB) | memoryInBytes },
//     parents naming tasks by id or, in the oldest files, by name.
// Each task becomes a PlanTask with 1 rank x ceil(coreCount) threads (WfCommons core counts may
// be fractional), memory in decimal MB (bytes / 1e6, rounded up; `defaultMemoryMB` where the
// instance has none), its runtime in seconds as measured. Dependencies are the union of
// `parents` and the reverse of `children`.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** The cluster used when an instance lists no machines: small, so the tasks have to queue. */
export const DEFAULT_WFCOMMONS_CLASSES = [{ name: 'node', count: 2, coresPerNode: 8, memoryMBPerNode: 32_000, speed: 1 }];

const num = (v) => (v === undefined || v === null || v === '' ? undefined : Number(v));

/**
 * Parse a WfCommons instance (object or JSON text) into { name, tasks, classes, warnings }.
 * `classes` comes from execution.machines (identical machines grouped into one class, speed 1:
 * measured runtimes already include each machine's speed) or `defaultClasses`.
 */
export function fromWfCommons(instance, { name, defaultMemoryMB = 1000, defaultClasses = DEFAULT_WFCOMMONS_CLASSES } = {}) {
  const doc = typeof instance === 'string' ? JSON.parse(instance) : instance;
  const wf = doc?.workflow;
  if (!wf) throw new Error('not a WfCommons instance: no "workflow" object');
  const warnings = [];
  let raw; // [{ id, name, parents, children, runtime, cores, memoryBytes }]
  if (wf.specification?.tasks) {
    const exec = new Map((wf.execution?.tasks ?? []).map((e) => [String(e.id), e]));
    raw = wf.specification.tasks.map((s) => {
      const id = String(s.id ?? s.name);
      const e = exec.get(id) ?? {};
      if (!exec.has(id)) warnings.push(`task ${id}: no execution record, runtime 0`);
      return {
        id,
        name: s.name,
        parents: s.parents ?? [],
        children: s.children ?? [],
        runtime: num(e.runtimeInSeconds ?? e.runtime) ?? 0,
        cores: num(e.coreCount ?? e.cores),
        memoryBytes: num(e.memoryInBytes) ?? (num(e.memory) !== undefined ? num(e.memory) * 1000 : undefined),
      };
    });
  } else if (Array.isArray(wf.tasks) || Array.isArray(wf.jobs)) {
    raw = (wf.tasks ?? wf.jobs).map((t) => ({
      id: String(t.id ?? t.name),
      name: t.name,
      parents: t.parents ?? [],
      children: t.children ?? [],
      runtime: num(t.runtimeInSeconds ?? t.runtime) ?? 0,
      cores: num(t.coreCount ?? t.cores),
      // schema 1.0-1.3 `memory` is KB; 1.4 renamed it memoryInBytes
      memoryBytes: num(t.memoryInBytes) ?? (num(t.memory) !== undefined ? num(t.memory) * 1000 : undefined),
    }));
  } else {
    throw new Error('not a WfCommons instance: no workflow.specification.tasks, workflow.tasks or workflow.jobs');
  }

  const byId = new Map(raw.map((t) => [t.id, t]));
  if (byId.size !== raw.length) throw new Error('duplicate task ids');
  const byName = new Map();
  for (const t of raw) if (t.name !== undefined) byName.set(t.name, byName.has(t.name) ? null : t.id); // null: ambiguous
  const resolve = (ref, where) => {
    const r = String(ref);
    if (byId.has(r)) return r;
    const n = byName.get(r);
    if (n) return n;
    throw new Error(`task ${where}: ${n === null ? 'ambiguous' : 'unknown'} task reference ${r}`);
  };
  const deps = new Map(raw.map((t) => [t.id, new Set()]));
  for (const t of raw) {
    for (const p of t.parents) deps.get(t.id).add(resolve(p, t.id));
    for (const c of t.children) deps.get(resolve(c, t.id)).add(t.id);
  }

  let classes = defaultClasses;
  const machines = wf.execution?.machines ?? wf.machines ?? [];
  const groups = new Map();
  for (const m of machines) {
    const cores = num(m.cpu?.coreCount ?? m.cpu?.count);
    const memMB = num(m.memoryInBytes) !== undefined ? Math.floor(num(m.memoryInBytes) / 1e6) : num(m.memory) !== undefined ? Math.floor(num(m.memory) / 1000) : undefined;
    if (!cores || !memMB) continue;
    const key = `${cores}c-${memMB}mb`;
    const g = groups.get(key) ?? { name: `m${cores}c`, count: 0, coresPerNode: cores, memoryMBPerNode: memMB, speed: 1 };
    g.count++;
    groups.set(key, g);
  }
  if (groups.size) classes = [...groups.values()].map((g, i) => ({ ...g, name: groups.size > 1 ? `${g.name}${i}` : g.name }));
  const maxCores = Math.max(...classes.map((c) => c.coresPerNode));
  const maxMem = Math.max(...classes.map((c) => c.memoryMBPerNode));

  const tasks = raw.map((t) => {
    let threads = Math.max(1, Math.ceil(t.cores ?? 1));
    if (threads > maxCores) {
      warnings.push(`task ${t.id}: ${threads} cores > ${maxCores} per node, clamped`);
      threads = maxCores;
    }
    let mem = t.memoryBytes !== undefined ? Math.ceil(t.memoryBytes / 1e6) : defaultMemoryMB;
    if (mem > maxMem) {
      warnings.push(`task ${t.id}: ${mem} MB > ${maxMem} MB per node, clamped`);
      mem = maxMem;
    }
    return { id: t.id, ranks: 1, threads, memoryMBPerNode: mem, runtimeSeconds: Math.max(0, t.runtime), deps: [...deps.get(t.id)] };
  });
  const label = name ?? doc.name ?? 'wfcommons';
  const nodes = classes.reduce((s, c) => s + c.count, 0);
  return { name: `wfcommons ${label} on ${nodes}n`, tasks, classes, warnings };
}

/** Read one instance file. */
export function loadWfCommons(file, opts = {}) {
  return fromWfCommons(readFileSync(file, 'utf8'), { name: basename(file).replace(/\.json$/, ''), ...opts });
}
