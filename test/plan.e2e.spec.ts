import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xmlProblems } from '../packages/nx-campaign/src/testing/xml';
import { campaign, copyWorkspace, nx, removeWorkspace, repoRoot, writeFile } from './workspace';

const PHOTOZ_STAGES = ['split_catalog', 'train_photoz', 'estimate_test', 'estimate_target', 'evaluate'];
const SOCM_EXAMPLE = join(repoRoot, 'pipelines/socm-dag/pipeline.yaml');

/** Stage names in the first column of a plan table (`│ * name │` or `│   name │`). */
function tableStages(out: string): string[] {
  return [...out.matchAll(/^│ [* ] (\S+)\s+│/gm)].map((m) => m[1]).filter((s) => s !== 'stage');
}

function expectNoStackTrace(out: string) {
  expect(out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

describe.sequential('planning runs: campaign plan and nx run <run>:plan', () => {
  let ws: string;

  beforeAll(() => {
    ws = copyWorkspace();
    copyFileSync(SOCM_EXAMPLE, join(ws, 'dag.yml'));
  });
  afterAll(() => removeWorkspace(ws));

  it('`campaign plan runs/photoz-sim.yaml` prints a table, makespan, lower bound and deadline verdict on this machine', () => {
    const r = campaign(ws, ['plan', 'runs/photoz-sim.yaml']);
    expect(r.status, r.out).toBe(0);
    expect(tableStages(r.stdout).sort()).toEqual([...PHOTOZ_STAGES].sort());
    expect(r.stdout).toMatch(/stage .* nodes .* cores .* memory\/node .* start .* end .* walltime .* QoS/);
    expect(r.stdout).toMatch(/on local \(default\)/);
    // Four one-minute levels; estimate_test and estimate_target side by side given two cores.
    expect(r.stdout).toMatch(/makespan 0:0[45]:00 \([45]m\)\s+lower bound 0:04:00 \(4m\)\s+ratio 1\.[02]5?/);
    expect(r.stdout).toMatch(/deadline: none set/);
    expect(existsSync(join(ws, 'results')), 'plan created results/').toBe(false);
  });

  it('plans a socm DAG as it is (repeated key, script path with a space): warnings at their lines, no stack trace', () => {
    const r = campaign(ws, ['plan', 'dag.yml']);
    expect(r.status, r.out).toBe(0);
    expectNoStackTrace(r.out);
    expect(r.stderr).toMatch(/^warning: dag\.yml:49 \(stages\.mask_extra\.resources\): key "resources" is repeated/m);
    expect(r.stderr).toMatch(/^warning: dag\.yml:82 \(stages\.mode_coupling\.script\): script path .* contains a space/m);
    expect(tableStages(r.stdout)).toHaveLength(8);
    expect(r.stdout).toMatch(/on tiger3 \(campaign\.resource in dag\.yml\)\n {2}allocation: 30 of 492 tiger3 nodes x 112 cores, 1000G each \(campaign\.requested_resources in dag\.yml: 3359 cores\)/);
    expect(r.stdout).toMatch(/\* spectra\s+│ tiger3-\d+\s+│\s+68 │\s+600G │ 0:45:00 │ 1:00:00 │\s+0:23:00 │ test/);
    expect(r.stdout).toMatch(/makespan 1:00:00 \(1h\)\s+lower bound 1:00:00 \(1h\)\s+ratio 1\.00/);
    expect(r.stdout).toMatch(/deadline 1d \(campaign\.deadline in dag\.yml\): met, 23h to spare/);
  });

  it('--json prints JSON and nothing else on stdout', () => {
    const r = campaign(ws, ['plan', 'dag.yml', '--json']);
    expect(r.status, r.out).toBe(0);
    const plan = JSON.parse(r.stdout) as { makespanSeconds: number; lowerBoundSeconds: number; stages: { name: string; nodes: string[]; cores: number; memoryMBPerNode: number; start: number; end: number }[] };
    expect(plan.makespanSeconds).toBe(3600);
    expect(plan.lowerBoundSeconds).toBe(3600);
    expect(plan.stages).toHaveLength(8);
    expect(plan.stages.find((s) => s.name === 'mode_coupling')).toMatchObject({ cores: 112, memoryMBPerNode: 8000, start: 1200, end: 1800 });
    expect(r.stderr).toMatch(/warning: dag\.yml:49/);
  });

  it('--site overrides the file; an unknown site is an error listing the known ones', () => {
    const r = campaign(ws, ['plan', 'dag.yml', '--site=universe', '--json']);
    expect(r.status, r.out).toBe(0);
    const plan = JSON.parse(r.stdout) as { site: string; stages: { nodes: string[] }[] };
    expect(plan.site).toBe('universe');
    expect(plan.stages[0].nodes[0]).toMatch(/^universe-\d+$/);
    // perlmutter's CPU nodes have 512 GB: spectra asks for 600G.
    const big = campaign(ws, ['plan', 'dag.yml', '--site=perlmutter']);
    expect(big.status).toBe(1);
    expect(big.stderr).toMatch(/^dag\.yml:\d+ \(spectra\): stage spectra needs .* 600G per node: it fits no node of perlmutter/m);
    expect(big.stderr).toMatch(/fix: lower its ranks, threads or memory, or plan it on a site with larger nodes \(--site\); the largest node of perlmutter is perlmutter \(128 cores, 512G\)/);
    const bad = campaign(ws, ['plan', 'dag.yml', '--site', 'nersc']);
    expect(bad.status).toBe(1);
    expectNoStackTrace(bad.out);
    expect(bad.stderr).toMatch(/--site: unknown site "nersc"\n {2}fix: use one of: tiger3, perlmutter, universe, local/);
  });

  it('--svg writes a well-formed Gantt chart with one bar per stage', () => {
    const r = campaign(ws, ['plan', 'dag.yml', '--svg', 'gantt.svg']);
    expect(r.status, r.out).toBe(0);
    const svg = readFileSync(join(ws, 'gantt.svg'), 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<g class="bar[ "]/g)).toHaveLength(8);
    expect(svg.match(/<g class="bar critical"/g)).toHaveLength(5);
  });

  it('reads sites.yaml, and reports its mistakes at their lines', () => {
    writeFile(ws, 'sites.yaml', 'sites:\n  mini:\n    node_classes: [{name: mini, count: 2, cores: 8, memory: 64G}]\n');
    const r = campaign(ws, ['plan', 'dag.yml', '--site', 'mini', '--json']);
    expect(r.status, r.out).toBe(1); // every stage that fits no node of mini, at once
    expect(r.stderr).toMatch(/^dag\.yml:\d+ \(windows\): stage windows needs .* 72G per node: it fits no node of mini/m);
    expect(r.stderr).toMatch(/^dag\.yml:\d+ \(spectra\): /m);
    expect(r.stderr).toMatch(/^dag\.yml:\d+ \(mode_coupling\): stage mode_coupling needs 14 rank\(s\) x 8 thread\(s\) = 112 cores .* fits no node of mini/m);
    expect(r.stdout).toBe('');
    writeFile(ws, 'sites.yaml', 'sites:\n  mini:\n    node_classes: [{name: mini, count: 2, cores: 8, memory: 64}]\n');
    const bad = campaign(ws, ['plan', 'runs/photoz-sim.yaml']);
    expect(bad.status).toBe(1);
    expectNoStackTrace(bad.out);
    expect(bad.stderr).toMatch(/^sites\.yaml:3 \(sites\.mini\.node_classes\[0\]\.memory\): Memory "64" has no unit/m);
    writeFile(ws, 'sites.yaml', '');
  });

  it('plans a socm DAG file in a folder that is not a workspace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-socm-'));
    copyFileSync(SOCM_EXAMPLE, join(dir, 'dag.yml'));
    try {
      const r = campaign(dir, ['plan', 'dag.yml']);
      expect(r.status, r.out).toBe(0);
      expect(r.stdout).toMatch(/makespan 1:00:00/);
    } finally {
      removeWorkspace(dir);
    }
  });

  it('`nx run photoz-sim:plan` prints the same table; options pass through', () => {
    const r = nx(ws, ['run', 'photoz-sim:plan', '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    expect(tableStages(r.out).sort()).toEqual([...PHOTOZ_STAGES].sort());
    expect(r.out).toMatch(/makespan 0:0[45]:00 \([45]m\)\s+lower bound 0:04:00/);
    const t = nx(ws, ['run', 'photoz-sim:plan', '--site=tiger3', '--outputStyle=static']);
    expect(t.status, t.out).toBe(0);
    expect(t.out).toMatch(/on tiger3 \(--site\)\s+allocation: 492 tiger3 nodes x 112 cores, 1000G each \(the whole site\)/);
    expect(t.out).toMatch(/│ test /);
    expect(existsSync(join(ws, 'results')), 'plan created results/').toBe(false);
  });
});
