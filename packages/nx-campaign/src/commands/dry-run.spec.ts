import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../format/errors';
import { fixture } from '../testing/fixture';
import { dryRun, dryRunJson } from './dry-run';
import { loadRunArgument } from './run-argument';

// socm's DAG format, with a repeated key (a warning) as in socm's own example.
const DAG = `campaign: {deadline: 1h}
stages:
  simulate:
    executable: python3 -u
    script: sim.py
    script-args: [tod.csv]
    depends: null
    outputs: [tod.csv]
    resources: {memory: 512M, ranks: 2, threads: 3, runtime: 10m}
  map:
    executable: python3 -u
    script: map.py
    script-args: [tod.csv, map.csv]
    script-kwargs: {nside: 16}
    depends: [simulate]
    inputs: [tod.csv]
    outputs: [map.csv]
    resources: {memory: 1G}
    resources: {memory: 2G, runtime: 5m}
`;

describe('dryRun', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--json: a pipeline file alone, every stage with absolute paths, JSON alone on stdout and warnings on stderr', () => {
    dir = fixture({ 'dag.yml': DAG });
    const out = dryRun(dir, 'dag.yml', { json: true });
    expect(out.stderr).toMatch(/^warning: dag\.yml:19 \(stages\.map\.resources\): key "resources" is repeated/);
    const outputs = join(dir, 'results/dag/outputs');
    expect(JSON.parse(out.stdout)).toEqual({
      run: 'dag',
      file: 'dag.yml',
      outputDir: outputs,
      logDir: join(dir, 'results/dag/logs'),
      stages: [
        {
          name: 'simulate',
          // What runs: an output is written under its in-progress name, renamed on success.
          argv: ['python3', '-u', join(dir, 'sim.py'), 'inprogress_tod.csv'],
          cwd: outputs,
          env: { OMP_NUM_THREADS: '3', NX_CAMPAIGN_RUN: 'dag', NX_CAMPAIGN_STAGE: 'simulate', NX_CAMPAIGN_OUTPUT_DIR: outputs },
          resources: { ranks: 2, threads: 3, nodes: null, memoryMBPerNode: 512, runtimeSeconds: 600 },
          inputs: [],
          outputs: [join(outputs, 'tod.csv')],
          after: [],
          log: join(dir, 'results/dag/logs/simulate.log'),
        },
        {
          name: 'map',
          argv: ['python3', '-u', join(dir, 'map.py'), 'tod.csv', 'inprogress_map.csv', '--nside=16'],
          cwd: outputs,
          env: { OMP_NUM_THREADS: '1', NX_CAMPAIGN_RUN: 'dag', NX_CAMPAIGN_STAGE: 'map', NX_CAMPAIGN_OUTPUT_DIR: outputs },
          resources: { ranks: 1, threads: 1, nodes: null, memoryMBPerNode: 2000, runtimeSeconds: 300 },
          inputs: [join(outputs, 'tod.csv')],
          outputs: [join(outputs, 'map.csv')],
          after: ['simulate'],
          log: join(dir, 'results/dag/logs/map.log'),
        },
      ],
    });
    expect(existsSync(join(dir, 'results')), 'dry-run created results/').toBe(false);
  });

  it('as text: a block per stage on stdout, the warnings on stderr', () => {
    dir = fixture({ 'dag.yml': DAG });
    const out = dryRun(dir, 'dag.yml');
    expect(out.stdout).toMatch(/^run dag \(dag\.yml\): 2 stage\(s\) from pipeline\(s\) dag\n/);
    expect(out.stdout).toMatch(/^\[2\/2\] map {3}\(dag\.yml:10\)\n {2}command: {3}python3 -u \S+\/map\.py tod\.csv inprogress_map\.csv --nside=16$/m);
    expect(out.stdout).not.toContain('warning');
    expect(out.stderr).toMatch(/^warning: dag\.yml:19 /);
  });

  it("passes on what a workflow gave a stage (`given`)", () => {
    dir = fixture({ 'dag.yml': DAG });
    const { wsRoot, run } = loadRunArgument(dir, 'dag.yml');
    run.dag.stages.get('map')!.given = { split: 'a', obs_ids: ['o1', 'o2'] };
    const stages = dryRunJson(wsRoot, run).stages;
    expect(stages.map((s) => s.given)).toEqual([undefined, { split: 'a', obs_ids: ['o1', 'o2'] }]);
    expect('given' in stages[0]).toBe(false);
  });

  it('a missing file is a located error', () => {
    dir = fixture({});
    expect(() => dryRun(dir, 'nosuch.yml')).toThrow(ConfigError);
    expect(() => dryRun(dir, 'nosuch.yml')).toThrow(/^nosuch\.yml: file not found\n {2}fix: create nosuch\.yml or correct the name that points to it$/);
  });
});
