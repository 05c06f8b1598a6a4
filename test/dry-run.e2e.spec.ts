import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, copyWorkspace, nx, removeWorkspace, writeFile } from './workspace';

interface DryRunJson {
  run: string;
  file: string;
  outputDir: string;
  logDir: string;
  stages: {
    name: string;
    argv: string[];
    cwd: string;
    env: Record<string, string>;
    resources: { ranks: number; threads: number; nodes: number | null; memoryMBPerNode: number; runtimeSeconds: number };
    inputs: string[];
    outputs: string[];
    after: string[];
    log: string;
    given?: { split: string; obs_ids: string[] };
  }[];
}

/** A small socm DAG: one simulation, two maps of it, their spectrum. */
const DAG = `campaign: {deadline: 1h, resource: local}
stages:
  simulate_tod:
    executable: python3 -u
    script: scripts/sim.py
    script-args: [tod.csv]
    script-kwargs: {seed: 3}
    depends: null
    outputs: [tod.csv]
    resources: {memory: 512M, ranks: 1, threads: 2, runtime: 10m}
  map_a:
    executable: python3 -u
    script: scripts/map.py
    script-args: [tod.csv, a.csv]
    depends: [simulate_tod]
    inputs: [tod.csv]
    outputs: [a.csv]
  map_b:
    executable: python3 -u
    script: scripts/map.py
    script-args: [tod.csv, b.csv]
    depends: [simulate_tod]
    resources: {memory: 1G, ranks: 4, threads: 1, runtime: 1h30m}
  spectra:
    executable: python3 -u
    script: scripts/spectra.py
    script-args: [a.csv, b.csv]
    script-flags: [cross]
    depends: [map_a, map_b]
`;

function expectNoStackTrace(out: string) {
  expect(out, 'a JS stack trace was printed').not.toMatch(/^\s+at /m);
}

describe('campaign dry-run: any file campaign plan takes, as text or --json', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  it('a socm DAG YAML outside any workspace, as JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-socm-'));
    try {
      writeFile(dir, 'dag.yml', DAG);
      for (const s of ['sim', 'map', 'spectra']) writeFile(dir, `scripts/${s}.py`, 'print("ok")\n');
      const r = campaign(dir, ['dry-run', 'dag.yml', '--json']);
      expect(r.status, r.out).toBe(0);
      const d = JSON.parse(r.stdout) as DryRunJson;
      const out = join(dir, 'results/dag/outputs');
      expect(d).toMatchObject({ run: 'dag', file: 'dag.yml', outputDir: out, logDir: join(dir, 'results/dag/logs') });
      expect(d.stages.map((s) => [s.name, s.after])).toEqual([
        ['simulate_tod', []],
        ['map_a', ['simulate_tod']],
        ['map_b', ['simulate_tod']],
        ['spectra', ['map_a', 'map_b']],
      ]);
      const [sim, mapA, mapB, spectra] = d.stages;
      expect(sim).toMatchObject({ argv: ['python3', '-u', join(dir, 'scripts/sim.py'), 'inprogress_tod.csv', '--seed=3'], cwd: out, outputs: [join(out, 'tod.csv')], log: join(dir, 'results/dag/logs/simulate_tod.log') });
      expect(sim.resources).toEqual({ ranks: 1, threads: 2, nodes: null, memoryMBPerNode: 512, runtimeSeconds: 600 });
      expect(sim.env).toMatchObject({ OMP_NUM_THREADS: '2', NX_CAMPAIGN_RUN: 'dag', NX_CAMPAIGN_STAGE: 'simulate_tod', NX_CAMPAIGN_OUTPUT_DIR: out });
      expect(mapA.inputs).toEqual([join(out, 'tod.csv')]);
      expect(mapB.resources).toEqual({ ranks: 4, threads: 1, nodes: null, memoryMBPerNode: 1000, runtimeSeconds: 5400 });
      expect(spectra.argv).toEqual(['python3', '-u', join(dir, 'scripts/spectra.py'), 'a.csv', 'b.csv', '--cross']);
      expect(d.stages.some((s) => 'given' in s)).toBe(false);
      expect(existsSync(join(dir, 'results')), 'dry-run created results/').toBe(false);
    } finally {
      removeWorkspace(dir);
    }
  });

  it('a path relative to a subfolder of the workspace, or absolute from outside it, for dry-run and plan alike', () => {
    const fromRoot = campaign(ws, ['dry-run', 'runs/photoz-sim.yaml', '--json']);
    expect(fromRoot.status, fromRoot.out).toBe(0);
    const fromSub = campaign(join(ws, 'pipelines/photoz'), ['dry-run', '../../runs/photoz-sim.yaml', '--json']);
    expect(fromSub.status, fromSub.out).toBe(0);
    const fromOutside = campaign(tmpdir(), ['dry-run', join(ws, 'runs/photoz-sim.yaml'), '--json']);
    expect(fromOutside.status, fromOutside.out).toBe(0);
    const d = JSON.parse(fromSub.stdout) as DryRunJson;
    expect(d).toMatchObject({ run: 'photoz-sim', file: 'runs/photoz-sim.yaml', outputDir: join(ws, 'results/photoz-sim/outputs') });
    expect(d.stages).toHaveLength(5);
    expect(d.stages.find((s) => s.name === 'split_catalog')!.inputs).toEqual([join(ws, 'data/photoz/sim/spec.csv')]);
    expect(fromSub.stdout).toBe(fromRoot.stdout);
    expect(fromOutside.stdout).toBe(fromRoot.stdout);
    const plan = campaign(join(ws, 'pipelines/photoz'), ['plan', '../../runs/photoz-sim.yaml', '--json']);
    expect(plan.status, plan.out).toBe(0);
    const planned = JSON.parse(plan.stdout) as { file: string; stages: { name: string }[] };
    expect([planned.file, planned.stages.map((s) => s.name).sort()]).toEqual(['runs/photoz-sim.yaml', d.stages.map((s) => s.name).sort()]);
  });

  it('--json for the socm TOML campaign: one entry per split, with the obs ids the workflow gave it', () => {
    const r = campaign(ws, ['dry-run', 'runs/so-nulltests.toml', '--json']);
    expect(r.status, r.out).toBe(0);
    const d = JSON.parse(r.stdout) as DryRunJson;
    expect(d.stages).toHaveLength(25);
    const [full, ...splits] = [d.stages.find((s) => s.name === 'ml-mapmaking')!, ...d.stages.filter((s) => s.name !== 'ml-mapmaking')];
    expect(full.given).toBeUndefined();
    expect(full.argv.slice(0, 3)).toEqual(['so-site-pipeline', 'make-ml-map', 'el_center > 45']);
    expect(splits).toHaveLength(24);
    for (const s of splits) {
      expect(s.name.endsWith(`.${s.given!.split}`), s.name).toBe(true);
      expect(s.given!.obs_ids.length, s.name).toBeGreaterThan(0);
      for (const id of s.given!.obs_ids) expect(id).toMatch(/^obs_\d+_\w+$/);
      // The split's obs list is the mapmaker's query.
      expect(s.argv[2], s.name).toMatch(new RegExp(`^${ws}/results/so-nulltests/maps/null/.*${s.given!.split}/query\\.txt$`));
    }
    // Each test deals every observation it selects to exactly one split.
    const mission = splits.filter((s) => s.name.includes('.mission-tests.')).flatMap((s) => s.given!.obs_ids);
    expect(new Set(mission).size).toBe(mission.length);
  });

  it('a missing file is an error naming it, without a stack trace', () => {
    for (const command of ['dry-run', 'plan']) {
      const r = campaign(join(ws, 'runs'), [command, 'nosuch.yaml', '--json']);
      expect(r.status, r.out).toBe(1);
      expectNoStackTrace(r.out);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('runs/nosuch.yaml: file not found\n  fix: create runs/nosuch.yaml or correct the name that points to it\n');
    }
  });

  it('`nx run <run>:dry-run --json` prints the same JSON', () => {
    const r = nx(ws, ['run', 'photoz-sim:dry-run', '--json', '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    const json = /^\{\n[\s\S]*?\n\}$/m.exec(r.stdout);
    expect(json, r.out).not.toBeNull();
    expect(JSON.parse(json![0])).toEqual(JSON.parse(campaign(ws, ['dry-run', 'runs/photoz-sim.yaml', '--json']).stdout));
  });
});
