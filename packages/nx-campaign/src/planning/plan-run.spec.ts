import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planJson } from '../commands/plan';
import { loadRun } from '../config/run';
import { loadSites } from '../sites/load';
import { fixture, problemsOf } from '../testing/fixture';
import { xmlProblems } from '../testing/xml';
import { escapeXml, fitLabel, ganttSvg } from './gantt-svg';
import { planRun, planTasks, resolvePlanSettings, walltimeFor, WALLTIME_SAFETY, type RunPlan } from './plan-run';

const SOCM_EXAMPLE = readFileSync(join(__dirname, '../../../../pipelines/socm-dag/pipeline.yaml'), 'utf8');
const CRITICAL = ['mask_extra', 'windows', 'mode_coupling', 'pseudo_vectors', 'spectra'];


/** A socm stage `name` with the given resources and parents. */
function stage(name: string, resources: string, depends: string[] = []) {
  return `  ${name}:\n    executable: sh\n    depends: ${depends.length ? `[${depends.join(', ')}]` : 'null'}\n    resources: {${resources}}\n`;
}

/** Every stage after its parents; per node, cores and memory within the class at every start. */
function expectValid(plan: RunPlan, parents: (s: string) => string[], cores: number, memoryMB: number) {
  const by = new Map(plan.stages.map((s) => [s.name, s]));
  for (const s of plan.stages) {
    expect(s.end).toBeGreaterThan(s.start);
    for (const p of parents(s.name)) expect(s.start, `${s.name} after ${p}`).toBeGreaterThanOrEqual(by.get(p)!.end);
  }
  for (const s of plan.stages) {
    for (const node of s.nodes) {
      const running = plan.stages.filter((o) => o.nodes.includes(node) && o.start <= s.start && o.end > s.start);
      expect(running.reduce((n, o) => n + o.cores / o.nodes.length, 0), `cores on ${node} at ${s.start}`).toBeLessThanOrEqual(cores);
      expect(running.reduce((n, o) => n + o.memoryMBPerNode, 0), `memory on ${node} at ${s.start}`).toBeLessThanOrEqual(memoryMB);
    }
  }
  expect(Math.max(...plan.stages.map((s) => s.end))).toBe(plan.makespan);
}

describe('planRun', () => {
  let ws: string | undefined;
  afterEach(() => ws && rmSync(ws, { recursive: true, force: true }));

  const plan = (file: string, site?: string) => {
    const run = loadRun(ws!, file);
    return { run, plan: planRun(ws!, run, resolvePlanSettings(ws!, run, loadSites(ws!), site)) };
  };

  it("plans a socm TOML workflow's memory as its total: on the nodes its ranks span, or more, shared evenly", () => {
    ws = fixture({
      'runs/c.toml': `[campaign]\ndeadline = "1d"\nexecution_schema = "batch"\nrequested_resources = 3359\n[campaign.ml-mapmaking]\ncontext = "file:///nowhere/context.yaml"\narea = "file:///nowhere/area.fits"\noutput_dir = "out"\npreprocess_config = "file:///nowhere/p.yaml"\n[campaign.ml-mapmaking.resources]\nranks = 70\nthreads = 8\nmemory = "4800000M"\nruntime = "7h"\n[campaign.power-spectra]\nsubcommand = "s.py"\n[campaign.power-spectra.resources]\nranks = 4\nthreads = 1\nmemory = "2.5T"\nruntime = "1h"\n`,
    });
    const { plan: p } = plan('runs/c.toml');
    // 70 ranks x 8 threads on 112-core tiger3 nodes: 5 nodes, 4.8 TB / 5 each.
    expect(p.stages.find((s) => s.name === 'ml-mapmaking')).toMatchObject({ cores: 560, memoryMBPerNode: 960_000 });
    expect(p.stages.find((s) => s.name === 'ml-mapmaking')!.nodes).toHaveLength(5);
    // 4 cores fit one node, 2.5 TB does not: 3 nodes of 1 TB, 833,334 MB each.
    expect(p.stages.find((s) => s.name === 'power-spectra')).toMatchObject({ memoryMBPerNode: 833_334 });
    expect(p.stages.find((s) => s.name === 'power-spectra')!.nodes).toHaveLength(3);
  });

  it("plans socm's example on tiger3 within its campaign block: 30 nodes, makespan = its 1 h critical path", () => {
    ws = fixture({ 'dag.yml': SOCM_EXAMPLE });
    const { run, plan: p } = plan('dag.yml');
    expect(run.name).toBe('dag');
    expect(p.settings.site.name).toBe('tiger3');
    expect(p.settings.site.nodeClasses[0].count).toBe(30); // ceil(3359 / 112)
    expect(p.settings.cap).toMatchObject({ cores: 3359, from: 'campaign.requested_resources in dag.yml' });
    expect(p.stages.map((s) => s.name).sort()).toEqual([...run.stages].sort());
    expectValid(p, (s) => run.dag.parents.get(s)!, 112, 1_000_000);
    expect(p.makespan).toBe(3600); // 600 + 600 + 600 + 900 + 900
    expect(p.lowerBound).toBe(3600);
    expect(p.ratio).toBe(1);
    expect(p.criticalPath).toEqual(CRITICAL);
    expect(p.stages.filter((s) => s.critical).map((s) => s.name).sort()).toEqual([...CRITICAL].sort());
    const spectra = p.stages.find((s) => s.name === 'spectra')!;
    expect(spectra).toMatchObject({ cores: 68, memoryMBPerNode: 600_000, start: 2700, end: 3600, walltimeSeconds: 1380, qos: 'test' });
    expect(p.stages.find((s) => s.name === 'mode_coupling')).toMatchObject({ cores: 112, walltimeSeconds: 900 });
    expect(p.deadline).toMatchObject({ seconds: 86400, met: true, from: 'campaign.deadline in dag.yml' });
    // The example's quirks are warnings; the QoS `test` (1 job at a time) is over-subscribed.
    expect(p.warnings.map((w) => w.message).join('\n')).toMatch(/"resources" is repeated[\s\S]*contains a space[\s\S]*QoS test of tiger3: the plan runs 4 of its jobs at once \(limit 1\)/);
  });

  it('gives the JSON shape: makespan, lower bound, stages with nodes, total cores, memory per node, start, end', () => {
    ws = fixture({ 'dag.yml': SOCM_EXAMPLE });
    const json = planJson(plan('dag.yml').plan);
    expect(json).toMatchObject({ makespanSeconds: 3600, lowerBoundSeconds: 3600, site: 'tiger3', criticalPath: CRITICAL, deadlineSeconds: 86400, meetsDeadline: true });
    expect(json.stages).toHaveLength(8);
    for (const s of json.stages) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['name', 'nodes', 'cores', 'memoryMBPerNode', 'start', 'end']));
      expect(s.nodes.every((n) => /^tiger3-\d+$/.test(n))).toBe(true);
    }
    expect(json.stages.find((s) => s.name === 'windows')).toMatchObject({ cores: 10, memoryMBPerNode: 72_000, start: 600, end: 1200 });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('pads walltimes by the safety factor, rounded up to a minute, and not the plan', () => {
    expect(WALLTIME_SAFETY).toBe(1.5);
    expect(walltimeFor(600)).toBe(900);
    expect(walltimeFor(900)).toBe(1380); // 22.5 min -> 23 min
    expect(walltimeFor(10)).toBe(60);
  });

  it("reads site, cap and deadline from the run file; --site wins; an unknown site fails at its line", () => {
    ws = fixture({
      'pipelines/p/pipeline.yaml': `campaign: {resource: tiger3, requested_resources: 3359, deadline: 24h}\nstages:\n${stage('a', 'ranks: 2, threads: 64, memory: 1G, runtime: 1h')}${stage('b', 'runtime: 30m', ['a'])}`,
      'runs/r.yaml': 'pipelines: p\nsite: perlmutter\nnodes: 2\ndeadline: 2h\n',
      'runs/bad.yaml': 'pipelines: p\n\nsite: tigre3\n',
      'runs/campaign.yaml': 'pipelines: p\n',
    });
    const { plan: p } = plan('runs/r.yaml');
    expect(p.settings).toMatchObject({ siteFrom: 'site in runs/r.yaml', cap: { nodes: 2, from: 'nodes in runs/r.yaml' }, deadline: { seconds: 7200, from: 'deadline in runs/r.yaml' } });
    expect(p.settings.site.nodeClasses).toEqual([{ name: 'perlmutter', count: 2, coresPerNode: 128, memoryMBPerNode: 512_000, speed: 1 }]);
    expect(p.stages.find((s) => s.name === 'a')).toMatchObject({ cores: 128, nodes: [expect.stringMatching(/^perlmutter-\d$/)] });
    expect(p.makespan).toBe(5400);
    expect(p.deadline?.met).toBe(true);

    const c = plan('runs/campaign.yaml').plan;
    expect(c.settings).toMatchObject({ siteFrom: 'campaign.resource in pipelines/p/pipeline.yaml', deadline: { seconds: 86400 } });
    expect(c.settings.site.nodeClasses[0].count).toBe(30);

    expect(plan('runs/r.yaml', 'universe').plan.settings).toMatchObject({ siteFrom: '--site', site: { name: 'universe', nodeClasses: [{ count: 2, coresPerNode: 224 }] } });

    const [bad] = problemsOf(() => plan('runs/bad.yaml'));
    expect(bad).toMatchObject({ file: 'runs/bad.yaml', line: 3, key: 'site', message: 'unknown site "tigre3"' });
    expect(bad.fix).toMatch(/tiger3, perlmutter, universe, local/);
    expect(problemsOf(() => plan('runs/campaign.yaml', 'nowhere'))[0]).toMatchObject({ file: '--site', message: 'unknown site "nowhere"' });
  });

  it('plans on this machine when nothing names a site', () => {
    ws = fixture({ 'pipelines/p/pipeline.yaml': `stages:\n${stage('a', 'runtime: 1m, memory: 100M')}`, 'runs/r.yaml': 'pipelines: p\n' });
    const { plan: p } = plan('runs/r.yaml');
    expect(p.settings).toMatchObject({ siteFrom: 'default', site: { name: 'local', backend: 'local' } });
    expect(p.stages[0]).toMatchObject({ nodes: ['local-0'], qos: 'local' });
    expect(p.deadline).toBeUndefined();
  });

  it('caps with requested_resources from the run file, over the campaign block', () => {
    ws = fixture({
      'pipelines/p/pipeline.yaml': `campaign: {resource: tiger3, requested_resources: 3359}\nstages:\n${stage('a', 'runtime: 1h')}`,
      'runs/r.yaml': 'pipelines: p\nrequested_resources: 225\n',
      'runs/both.yaml': 'pipelines: p\nrequested_resources: 225\nnodes: 2\n',
    });
    expect(plan('runs/r.yaml').plan.settings.site.nodeClasses[0].count).toBe(3);
    expect(problemsOf(() => loadRun(ws!, 'runs/both.yaml'))[0]).toMatchObject({ file: 'runs/both.yaml', line: 3, key: 'nodes', message: expect.stringMatching(/both requested_resources \(cores\) and nodes/) });
  });

  it('drops dependencies on stages trimmed away by from/to', () => {
    ws = fixture({
      'pipelines/p/pipeline.yaml': `stages:\n${stage('a', 'runtime: 1m')}${stage('b', 'runtime: 1m', ['a'])}${stage('c', 'runtime: 1m', ['b'])}`,
      'runs/r.yaml': 'pipelines: p\nfrom: b\n',
    });
    expect(planTasks(loadRun(ws, 'runs/r.yaml')).map((t) => [t.id, t.deps])).toEqual([['b', []], ['c', ['b']]]);
  });

  it('names the stage and the largest node when a stage fits no node', () => {
    ws = fixture({
      'dag.yml': `campaign: {resource: tiger3}\nstages:\n${stage('small', 'runtime: 1m')}${stage('huge', 'memory: 2T, runtime: 1h', ['small'])}`,
      'capped.yml': `campaign: {resource: tiger3, requested_resources: 112}\nstages:\n${stage('wide', 'ranks: 224, runtime: 1h')}`,
    });
    const [p] = problemsOf(() => plan('dag.yml'));
    expect(p).toMatchObject({ file: 'dag.yml', line: 10, key: 'huge' });
    expect(p.message).toMatch(/stage huge needs 1 rank\(s\) x 1 thread\(s\) = 1 cores and 2000G per node: it fits no node of tiger3/);
    expect(p.fix).toMatch(/largest node of tiger3 is tiger3 \(112 cores, 1000G\)/);
    // A stage that fits the site but not the allocation: raise the allocation.
    const [q] = problemsOf(() => plan('capped.yml'));
    expect(q.message).toMatch(/stage wide needs 224 rank/);
    expect(q.fix).toMatch(/raise the allocation \(campaign.requested_resources in capped.yml\)/);
  });

  it('warns when no QoS admits a stage', () => {
    ws = fixture({ 'dag.yml': `campaign: {resource: tiger3}\nstages:\n${stage('forever', 'runtime: 14d')}` });
    const p = plan('dag.yml').plan;
    expect(p.stages[0].qos).toBeUndefined();
    expect(p.warnings.map((w) => w.message).join('\n')).toMatch(/stage forever asks for a walltime of 21d .* no QoS of tiger3 admits that \(longest: vlong, 15d, 900 cores\)/);
  });

  it('when the deadline is missed: the critical path and what would help', () => {
    // Four one-node, one-hour stages side by side, then a join: on one node they queue.
    const wide = ['w0', 'w1', 'w2', 'w3'].map((n) => stage(n, 'ranks: 112, memory: 8G, runtime: 1h')).join('');
    ws = fixture({ 'dag.yml': `campaign: {resource: tiger3, requested_resources: 112, deadline: 90m}\nstages:\n${wide}${stage('join', 'ranks: 1, runtime: 1h', ['w0', 'w1', 'w2', 'w3'])}` });
    const p = plan('dag.yml').plan;
    expect(p.makespan).toBe(5 * 3600);
    expect(p.deadline).toMatchObject({ seconds: 5400, met: false });
    expect(p.deadline!.criticalPath.map((c) => c.name)).toEqual(p.criticalPath);
    expect(p.deadline!.criticalPath.at(-1)).toEqual({ name: 'join', start: 4 * 3600, end: 5 * 3600 });
    const advice = p.deadline!.suggestions.join('\n');
    expect(advice).toMatch(/more nodes: the allocation is 1 node\(s\) \(112 cores\); the widest level \(w0, w1, w2, w3\) needs 4: set requested_resources: 448 in dag.yml/);
    expect(advice).toMatch(/fewer ranks on w\d: it waits \d+h after its inputs are ready for 112 free cores/);
    expect(advice).toMatch(/a shorter w0: the dependency chain alone \(w0 -> join\) takes 2h, more than the deadline/);
    expect(advice).toMatch(/a later deadline: this plan needs at least 5h/);
  });
});

describe('ganttSvg', () => {
  let ws: string | undefined;
  afterEach(() => ws && rmSync(ws, { recursive: true, force: true }));

  it('draws one bar per stage, the critical path marked, as well-formed XML', () => {
    ws = fixture({ 'dag.yml': SOCM_EXAMPLE });
    const run = loadRun(ws, 'dag.yml');
    const svg = ganttSvg(planRun(ws, run, resolvePlanSettings(ws, run, loadSites(ws))));
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<g class="bar[ "]/g)).toHaveLength(8);
    expect(svg.match(/<g class="bar critical"/g)).toHaveLength(5);
    expect(svg).toContain('critical path');
    expect(svg).toMatch(/>1h<\/text>/); // a tick at the makespan
  });

  it('escapes text and shortens labels that do not fit', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect(fitLabel('get_spectra_from_maps', 1000)).toBe('get_spectra_from_maps');
    expect(fitLabel('get_spectra_from_maps', 64)).toBe('get_spect\u2026');
    expect(fitLabel('get_spectra_from_maps', 20)).toBe('');
  });

  it('stays valid and bounded for 1,000 stages, with labels only where they fit', () => {
    const stages = Array.from({ length: 1000 }, (_, i) => stage(`s${i}`, `ranks: ${1 + (i % 7)}, threads: ${1 + (i % 3)}, runtime: ${1 + (i % 17)}m, memory: 1G`, i >= 10 ? [`s${i - 10}`] : [])).join('');
    ws = fixture({ 'dag.yml': `campaign: {resource: tiger3, requested_resources: 448}\nstages:\n${stages}` });
    const run = loadRun(ws, 'dag.yml');
    const p = planRun(ws, run, resolvePlanSettings(ws, run, loadSites(ws)));
    expectValid(p, (s) => run.dag.parents.get(s)!, 112, 1_000_000);
    const svg = ganttSvg(p);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<g class="bar[ "]/g)).toHaveLength(1000);
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    expect(height).toBeLessThan(3000);
    // Every label fits in its bar (CHAR_W = 6.4 px per character).
    for (const m of svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*\/>(?:<rect[^>]*\/>)*<text x="[\d.]+" y="[\d.]+" fill="#fff">([^<]*)<\/text>/g)) {
      expect(m[3].length * 6.4 + 6).toBeLessThanOrEqual(Number(m[2]) + 0.1);
    }
  });
});
