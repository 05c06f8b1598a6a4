import { join } from 'node:path';
import { CampaignError, ConfigError, configError, type Location, type Problem } from '../format/errors';
import { formatDuration, formatMemory } from '../format/quantities';
import { readSourceFile } from '../format/source-file';
import type { KeyPath, YamlFile } from '../format/yaml-file';
import type { Run } from '../model/run';
import type { Stage } from '../model/stage';
import { siteNamed } from '../sites/load';
import { capSite, chooseQos, totalCores, totalNodes, type Site } from '../sites/site';
import { footprint, planHeft, UnplaceableTaskError } from './heft';
import type { Plan, PlanTask } from './types';
import { type NodeClass } from '../sites/site';

/**
 * The walltime asked of SLURM for a stage is its runtime estimate times this: estimates
 * are guesses, and a job that reaches its walltime is killed. It pads the request (and so
 * the QoS choice), not the plan: stages are placed with their estimates.
 */
export const WALLTIME_SAFETY = 1.5;

/** Where the plan's site, allocation cap and deadline come from, resolved. */
export interface PlanSettings {
  /** The site as capped by the allocation. */
  site: Site;
  /** The site before capping. */
  fullSite: Site;
  /** Where each setting was read, for messages: e.g. `site in runs/x.yaml`, `--site`, `default`. */
  siteFrom: string;
  cap?: { cores?: number; nodes?: number; from: string; clampedFrom?: number };
  deadline?: { seconds: number; from: string };
}

export interface StagePlan {
  name: string;
  pipeline: string;
  nodes: string[];
  /** Cores the stage holds, all nodes together. */
  cores: number;
  /** Memory the stage holds on each of its nodes, MB. */
  memoryMBPerNode: number;
  /** Seconds from the campaign start. */
  start: number;
  end: number;
  /** What to ask SLURM for: the estimate x WALLTIME_SAFETY, rounded up to a minute. */
  walltimeSeconds: number;
  /** Undefined when no QoS of the site admits the walltime and cores. */
  qos?: string;
  critical: boolean;
  /** HEFT upward rank, seconds: the work left from this stage's start to the campaign's end. */
  rank: number;
  /**
   * 1 = most urgent: stages by planned start, ties by decreasing rank (what a backend turns into
   * SLURM priorities, so jobs pending together start in the plan's order).
   */
  priority: number;
}

export interface DeadlineCheck {
  seconds: number;
  from: string;
  met: boolean;
  /** When missed: the critical path, and what would help. */
  criticalPath: { name: string; start: number; end: number }[];
  suggestions: string[];
}

export interface RunPlan {
  run: string;
  file: string;
  settings: PlanSettings;
  /** In the order they start (ties: topological order). */
  stages: StagePlan[];
  makespan: number;
  lowerBound: number;
  /** makespan / lower bound: 1 is optimal, and the lower bound is rarely reachable. */
  ratio: number;
  criticalPath: string[];
  deadline?: DeadlineCheck;
  /** Loading warnings and what the plan found (QoS limits). */
  warnings: Problem[];
}

/** Site, cap and deadline for `run`: `--site` > run file > its pipelines' `campaign:` block > `local`. */
export function resolvePlanSettings(wsRoot: string, run: Run, sites: Site[], siteOverride?: string): PlanSettings {
  const files = new Map<string, YamlFile>();
  const at = (file: string, key: KeyPath): Location => {
    if (!files.has(file)) files.set(file, readSourceFile(join(wsRoot, file), file));
    return { file, line: files.get(file)!.lineOf(key), key: key.join('.') };
  };
  const fromCampaign = <K extends 'resource' | 'requested_resources' | 'deadline'>(key: K) => {
    const p = run.pipelines.find((x) => x.campaign?.[key] !== undefined);
    return p ? { value: p.campaign![key]!, from: `campaign.${key} in ${p.file}`, file: p.file } : undefined;
  };

  let fullSite: Site;
  let siteFrom: string;
  if (siteOverride !== undefined) {
    fullSite = siteNamed(sites, siteOverride, { file: '--site' });
    siteFrom = '--site';
  } else if (run.site !== undefined) {
    // A socm TOML campaign names its site as campaign.resource.
    fullSite = siteNamed(sites, run.site, at(run.file, run.file.endsWith('.toml') ? ['campaign', 'resource'] : ['site']));
    siteFrom = `site in ${run.file}`;
  } else {
    const c = fromCampaign('resource');
    fullSite = c ? siteNamed(sites, c.value, at(c.file, ['campaign', 'resource'])) : siteNamed(sites, 'local', { file: 'default site' });
    siteFrom = c ? c.from : 'default';
  }

  let cap: PlanSettings['cap'];
  if (run.requestedResources !== undefined) cap = { cores: run.requestedResources, from: `requested_resources in ${run.file}` };
  else if (run.nodes !== undefined) cap = { nodes: run.nodes, from: `nodes in ${run.file}` };
  else {
    const c = fromCampaign('requested_resources');
    if (c) cap = { cores: c.value, from: c.from };
  }
  const capped = capSite(fullSite, cap ?? {});
  if (cap && capped.clampedFrom !== undefined) cap.clampedFrom = capped.clampedFrom;

  let deadline: PlanSettings['deadline'];
  if (run.deadline !== undefined) deadline = { seconds: run.deadline, from: `deadline in ${run.file}` };
  else {
    const c = fromCampaign('deadline');
    if (c) deadline = { seconds: c.value, from: c.from };
  }
  return { site: capped.site, fullSite, siteFrom, cap, deadline };
}

/** The stages of `run` (after trimming) as planner tasks; dependencies on trimmed stages are dropped. */
export function planTasks(run: Run): PlanTask[] {
  const kept = new Set(run.stages);
  return run.stages.map((name) => {
    const r = run.dag.stages.get(name)!.resources;
    return {
      id: name,
      ranks: r.ranks,
      threads: r.threads,
      memoryMBPerNode: r.memoryMBPerNode,
      ...(r.memoryTotalMB !== undefined ? { memoryMBTotal: r.memoryTotalMB } : {}),
      runtimeSeconds: r.runtimeSeconds,
      ...(r.nodes !== undefined ? { nodes: r.nodes } : {}),
      deps: run.dag.parents.get(name)!.filter((p) => kept.has(p)),
    };
  });
}

function fits(t: PlanTask, cls: NodeClass): boolean {
  return footprint(t, cls) !== undefined;
}

function describeClass(c: NodeClass): string {
  return `${c.name}: ${c.count} node(s) of ${c.coresPerNode} cores, ${formatMemory(c.memoryMBPerNode)}`;
}

/** A ConfigError at the stage's resources, saying why it fits no node of the (capped) site. */
function fitsNoNode(wsRoot: string, run: Run, t: PlanTask, settings: PlanSettings, detail?: string): ConfigError {
  const stage = run.dag.stages.get(t.id)!;
  const { site, fullSite, cap } = settings;
  const largest = [...fullSite.nodeClasses].sort((a, b) => b.coresPerNode - a.coresPerNode || b.memoryMBPerNode - a.memoryMBPerNode)[0];
  const needs = `${t.ranks} rank(s) x ${t.threads} thread(s) = ${t.ranks * t.threads} cores${t.nodes ? ` on ${t.nodes} node(s)` : ''} and ${t.memoryMBTotal !== undefined ? `${formatMemory(t.memoryMBTotal)} in all` : `${formatMemory(t.memoryMBPerNode)} per node`}`;
  const fitsFull = fullSite.nodeClasses.some((c) => fits(t, c));
  const fix = fitsFull && cap
    ? `raise the allocation (${cap.from}): ${site.name}'s full size would hold it`
    : `lower its ranks, threads or memory, or plan it on a site with larger nodes (--site); the largest node of ${fullSite.name} is ${largest.name} (${largest.coresPerNode} cores, ${formatMemory(largest.memoryMBPerNode)})`;
  return configError({
    ...stageLocation(wsRoot, stage, ['resources']),
    message: `stage ${t.id} needs ${needs}: it fits no node of ${site.name} (${site.nodeClasses.map(describeClass).join('; ')})${detail ? ` [planner: ${detail}]` : ''}`,
    fix,
  });
}

function stageLocation(wsRoot: string, stage: Stage, sub: KeyPath): Location {
  try {
    const y = readSourceFile(join(wsRoot, stage.source.file), stage.source.file);
    return { file: stage.source.file, line: y.lineOf([...stage.source.key, ...sub]) ?? y.lineOf(stage.source.key), key: stage.name };
  } catch {
    return { file: stage.source.file, key: stage.name };
  }
}

/** Walltime asked of SLURM: the estimate x WALLTIME_SAFETY, rounded up to whole minutes. */
export function walltimeFor(runtimeSeconds: number): number {
  return Math.max(60, Math.ceil((runtimeSeconds * WALLTIME_SAFETY) / 60) * 60);
}

/** Place the run's stages on the (capped) site with HEFT, and judge the result. */
export function planRun(wsRoot: string, run: Run, settings: PlanSettings): RunPlan {
  const { site } = settings;
  const tasks = planTasks(run);
  if (tasks.length === 0) throw new CampaignError(`${run.file}: no stages to plan`);
  const unplaceable = tasks.filter((t) => !site.nodeClasses.some((c) => fits(t, c)));
  if (unplaceable.length) throw new ConfigError(unplaceable.flatMap((t) => fitsNoNode(wsRoot, run, t, settings).problems));
  let plan: Plan;
  try {
    plan = planHeft(tasks, site.nodeClasses);
  } catch (e) {
    if (!(e instanceof UnplaceableTaskError)) throw e;
    const culprit = tasks.find((t) => t.id === e.taskId);
    throw culprit ? fitsNoNode(wsRoot, run, culprit, settings, e.message) : e;
  }

  const byId = new Map(plan.placements.map((p) => [p.id, p]));
  const critical = new Set(plan.criticalPath);
  const order = new Map(run.stages.map((s, i) => [s, i]));
  const priority = new Map([...plan.placements].sort((a, b) => a.start - b.start || b.rank - a.rank || order.get(a.id)! - order.get(b.id)!).map((p, i) => [p.id, i + 1]));
  const stages: StagePlan[] = run.stages
    .map((name): StagePlan => {
      const p = byId.get(name);
      if (!p) throw new Error(`planner returned no placement for stage ${name}`);
      const cores = p.coresPerNode * p.nodes.length;
      const walltimeSeconds = walltimeFor(p.end - p.start);
      return { name, pipeline: run.dag.stages.get(name)!.pipeline, nodes: p.nodes, cores, memoryMBPerNode: p.memoryMBPerNode, start: p.start, end: p.end, walltimeSeconds, qos: chooseQos(site, walltimeSeconds, cores)?.name, critical: critical.has(name), rank: p.rank, priority: priority.get(name)! };
    })
    .sort((a, b) => a.start - b.start || order.get(a.name)! - order.get(b.name)!);

  const warnings: Problem[] = [...run.warnings, ...qosWarnings(wsRoot, run, site, stages)];
  const result: RunPlan = {
    run: run.name,
    file: run.file,
    settings,
    stages,
    makespan: plan.makespan,
    lowerBound: plan.lowerBound,
    ratio: plan.lowerBound > 0 ? plan.makespan / plan.lowerBound : 1,
    criticalPath: plan.criticalPath,
    warnings,
  };
  if (settings.deadline) result.deadline = checkDeadline(run, tasks, result, settings.deadline);
  return result;
}

/** A stage no QoS admits; QoS whose job or core limits the plan's concurrency exceeds. */
function qosWarnings(wsRoot: string, run: Run, site: Site, stages: StagePlan[]): Problem[] {
  const out: Problem[] = [];
  if (site.backend !== 'slurm' || site.qos.length === 0) return out;
  const longest = [...site.qos].sort((a, b) => b.maxWalltimeSeconds - a.maxWalltimeSeconds)[0];
  for (const s of stages) {
    if (s.qos) continue;
    out.push({
      ...stageLocation(wsRoot, run.dag.stages.get(s.name)!, ['resources']),
      message: `stage ${s.name} asks for a walltime of ${formatDuration(s.walltimeSeconds)} (estimate x ${WALLTIME_SAFETY}) and ${s.cores} cores: no QoS of ${site.name} admits that (longest: ${longest.name}, ${formatDuration(longest.maxWalltimeSeconds)}, ${longest.maxCores} cores)`,
      fix: 'lower its runtime estimate or cores, split it into shorter stages, or plan it on another site',
    });
  }
  for (const q of site.qos) {
    const mine = stages.filter((s) => s.qos === q.name);
    // Concurrency peaks at some stage's start.
    let jobs: StagePlan[] = [], cores: StagePlan[] = [];
    const sum = (l: StagePlan[]) => l.reduce((n, o) => n + o.cores, 0);
    for (const s of mine) {
      const running = mine.filter((o) => o.start <= s.start && o.end > s.start);
      if (running.length > jobs.length) jobs = running;
      if (sum(running) > sum(cores)) cores = running;
    }
    const over = jobs.length > q.maxJobs ? { running: jobs, what: `${jobs.length} of its jobs at once (limit ${q.maxJobs})` } : sum(cores) > q.maxCores ? { running: cores, what: `${sum(cores)} of its cores at once (limit ${q.maxCores})` } : undefined;
    if (!over) continue;
    const roomier = [...site.qos]
      .sort((a, b) => a.maxWalltimeSeconds - b.maxWalltimeSeconds || a.maxCores - b.maxCores)
      .find((o) => o !== q && o.maxJobs >= over.running.length && o.maxCores >= sum(over.running) && over.running.every((s) => o.maxWalltimeSeconds >= s.walltimeSeconds));
    out.push({
      file: run.file,
      message: `QoS ${q.name} of ${site.name}: the plan runs ${over.what}: ${over.running.slice(0, 5).map((s) => s.name).join(', ')}${over.running.length > 5 ? ', ...' : ''}; SLURM will hold the rest, so the makespan will be longer`,
      fix: roomier ? `expect queueing, or submit them under QoS ${roomier.name} (${roomier.maxJobs} jobs, ${roomier.maxCores} cores, ${formatDuration(roomier.maxWalltimeSeconds)})` : 'expect queueing, or cap the allocation (requested_resources or nodes) so fewer stages run at once',
    });
  }
  return out;
}

/** Longest chain of estimated runtimes (on the fastest node class): what no allocation can beat. */
function dagCriticalPath(run: Run, tasks: PlanTask[], speed: number): { seconds: number; chain: string[] } {
  const finish = new Map<string, { t: number; prev?: string }>();
  for (const task of tasks) {
    let best: { t: number; prev?: string } = { t: 0 };
    for (const d of task.deps) if (finish.get(d)!.t > best.t) best = { t: finish.get(d)!.t, prev: d };
    finish.set(task.id, { t: best.t + task.runtimeSeconds / speed, prev: best.prev });
  }
  let last = tasks[0].id;
  for (const t of tasks) if (finish.get(t.id)!.t > finish.get(last)!.t) last = t.id;
  const chain: string[] = [];
  for (let n: string | undefined = last; n; n = finish.get(n)!.prev) chain.unshift(n);
  return { seconds: finish.get(last)!.t, chain };
}

/** The widest DAG level, in nodes of the site's first class: cores and memory of its stages together. */
function widestLevel(tasks: PlanTask[], cls: NodeClass): { level: number; nodes: number; stages: string[] } {
  const level = new Map<string, number>();
  for (const t of tasks) level.set(t.id, t.deps.length ? 1 + Math.max(...t.deps.map((d) => level.get(d)!)) : 0);
  const levels = new Map<number, PlanTask[]>();
  for (const t of tasks) levels.set(level.get(t.id)!, [...(levels.get(level.get(t.id)!) ?? []), t]);
  let widest = { level: 0, nodes: 0, stages: [] as string[] };
  for (const [l, ts] of levels) {
    const feet = ts.map((t) => footprint(t, cls));
    const own = feet.map((f) => f?.nodes ?? 0);
    const cores = ts.reduce((n, t) => n + t.ranks * t.threads, 0);
    const memory = feet.reduce((n, f) => n + (f ? f.memoryMBPerNode * f.nodes : 0), 0);
    const nodes = Math.max(Math.ceil(cores / cls.coresPerNode), Math.ceil(memory / cls.memoryMBPerNode), ...own);
    if (nodes > widest.nodes) widest = { level: l, nodes, stages: ts.map((t) => t.id) };
  }
  return widest;
}

function checkDeadline(run: Run, tasks: PlanTask[], plan: RunPlan, deadline: { seconds: number; from: string }): DeadlineCheck {
  const met = plan.makespan <= deadline.seconds;
  const check: DeadlineCheck = { ...deadline, met, criticalPath: [], suggestions: [] };
  if (met) return check;
  const byName = new Map(plan.stages.map((s) => [s.name, s]));
  check.criticalPath = plan.criticalPath.map((n) => ({ name: n, start: byName.get(n)!.start, end: byName.get(n)!.end }));
  const { site, cap } = plan.settings;
  const cls = site.nodeClasses[0];
  const fastest = Math.max(...site.nodeClasses.map((c) => c.speed));
  const dag = dagCriticalPath(run, tasks, fastest);
  const allocation = totalNodes(site);
  const wide = widestLevel(tasks, cls);
  const key = cap?.cores !== undefined ? `requested_resources: ${wide.nodes * cls.coresPerNode}` : `nodes: ${wide.nodes}`;
  if (wide.nodes > allocation) {
    check.suggestions.push(`more nodes: the allocation is ${allocation} node(s) (${totalCores(site)} cores); the widest level (${wide.stages.slice(0, 4).join(', ')}${wide.stages.length > 4 ? ', ...' : ''}) needs ${wide.nodes}: set ${key} in ${run.file}${wide.nodes > plan.settings.fullSite.nodeClasses[0].count ? ` (${site.name} has only ${plan.settings.fullSite.nodeClasses[0].count})` : ''}`);
  }
  const critical = check.criticalPath.map((c) => ({ ...c, stage: byName.get(c.name)!, parentsEnd: Math.max(0, ...tasks.find((t) => t.id === c.name)!.deps.map((d) => byName.get(d)!.end)) }));
  const waited = critical.filter((c) => c.start - c.parentsEnd > 0).sort((a, b) => b.start - b.parentsEnd - (a.start - a.parentsEnd))[0];
  if (waited) {
    const r = run.dag.stages.get(waited.name)!.resources;
    check.suggestions.push(`fewer ranks on ${waited.name}: it waits ${formatDuration(waited.start - waited.parentsEnd)} after its inputs are ready for ${waited.stage.cores} free cores (${r.ranks} rank(s) x ${r.threads} thread(s))`);
  }
  if (dag.seconds > deadline.seconds) {
    const longest = dag.chain.map((n) => tasks.find((t) => t.id === n)!).sort((a, b) => b.runtimeSeconds - a.runtimeSeconds)[0];
    const r = run.dag.stages.get(longest.id)!.resources;
    check.suggestions.push(`a shorter ${longest.id}: the dependency chain alone (${dag.chain.join(' -> ')}) takes ${formatDuration(dag.seconds)}, more than the deadline whatever the allocation; ${longest.id} is its longest stage (${formatDuration(longest.runtimeSeconds)} with ${r.ranks} rank(s) x ${r.threads} thread(s)): more ranks if it scales, or split it`);
  }
  check.suggestions.push(`a later deadline: this plan needs at least ${formatDuration(plan.makespan)} (${deadline.from})`);
  return check;
}

/** For messages: `30 of 492 tiger3 nodes x 112 cores, 1000G each`. */
export function describeAllocation(settings: PlanSettings): string {
  const { site, fullSite } = settings;
  return site.nodeClasses
    .map((c, i) => {
      const of = fullSite.nodeClasses[i].count !== c.count ? ` of ${fullSite.nodeClasses[i].count}` : '';
      return `${c.count}${of} ${c.name} node${c.count > 1 || of ? 's' : ''} x ${c.coresPerNode} cores, ${formatMemory(c.memoryMBPerNode)} each${c.speed !== 1 ? `, speed ${c.speed}` : ''}`;
    })
    .join(' + ');
}
