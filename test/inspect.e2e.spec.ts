import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, copyWorkspace, nx, readFile, removeWorkspace } from './workspace';

// Topological order, ties in declaration order (evaluate is declared before estimate_target).
const PHOTOZ_STAGES = ['split_catalog', 'train_photoz', 'estimate_test', 'evaluate', 'estimate_target'];

/** `[i/n] stage` blocks of a dry-run listing, each with its indented field lines. */
function dryRunBlocks(out: string): Map<string, Record<string, string>> {
  const blocks = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of out.split('\n')) {
    const head = /^\[\d+\/\d+\] (\S+)/.exec(line);
    if (head) blocks.set(head[1], (current = {}));
    const field = /^ {2}(\w+):\s+(.*)$/.exec(line);
    if (field && current) current[field[1]] = field[2];
  }
  return blocks;
}

function expectPhotozDryRun(out: string, ws: string) {
  const blocks = dryRunBlocks(out);
  expect([...blocks.keys()]).toEqual(PHOTOZ_STAGES);
  for (const [stage, f] of blocks) {
    expect(Object.keys(f), stage).toEqual(expect.arrayContaining(['command', 'cwd', 'env', 'resources']));
    expect(f.cwd, stage).toBe(join(ws, 'results/photoz-sim/outputs'));
    expect(f.env, stage).toContain(`NX_CAMPAIGN_STAGE=${stage}`);
    expect(f.resources, stage).toMatch(/1 rank\(s\) x 1 thread\(s\).*512M.*1m/);
  }
  expect(blocks.get('train_photoz')!.command).toMatch(/^python3 -u \S*pipelines\/photoz\/scripts\/train\.py .*--model=inprogress_model\.json.*--k=7/);
  expect(blocks.get('split_catalog')!.command).toContain(join(ws, 'data/photoz/sim/spec.csv'));
}

describe.sequential('inspecting runs without running them', () => {
  let ws: string;

  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  it('`campaign dry-run runs/<run>.yaml` prints command, cwd, env and resources per stage and runs nothing', () => {
    const r = campaign(ws, ['dry-run', 'runs/photoz-sim.yaml']);
    expect(r.status, r.out).toBe(0);
    expectPhotozDryRun(r.stdout, ws);
    expect(existsSync(join(ws, 'results')), 'dry-run created results/').toBe(false);
  });

  it('`nx run <run>:dry-run` prints the same and runs nothing', () => {
    const r = nx(ws, ['run', 'photoz-sim:dry-run', '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    expectPhotozDryRun(r.out, ws);
    expect(existsSync(join(ws, 'results')), 'dry-run created results/').toBe(false);
  });

  it('`nx graph --file` has one node per stage project and edges that follow the DAG', () => {
    const r = nx(ws, ['graph', '--file=graph.json']);
    expect(r.status, r.out).toBe(0);
    const { graph } = JSON.parse(readFile(ws, 'graph.json')) as {
      graph: { nodes: Record<string, { data: { tags?: string[] } }>; dependencies: Record<string, { source: string; target: string }[]> };
    };
    const stageNodes = Object.keys(graph.nodes).filter((n) => n.includes('.') && !n.startsWith('so-nulltests.') && !n.startsWith('wlgc.') && !n.startsWith('lovoccs-a85.')).sort();
    // The Rubin campaign: 9 steps, one group per band (test/rubin.e2e.spec.ts).
    expect(Object.keys(graph.nodes).filter((n) => n.startsWith('lovoccs-a85.'))).toHaveLength(27);
    // The ceci pipeline of Python classes: nine stages (test/ceci.e2e.spec.ts).
    expect(Object.keys(graph.nodes).filter((n) => n.startsWith('wlgc.'))).toHaveLength(9);
    // The socm campaign: its ml-mapmaking stage and 24 null-test splits (test/campaign.e2e.spec.ts).
    expect(Object.keys(graph.nodes).filter((n) => n.startsWith('so-nulltests.'))).toHaveLength(25);
    expect(stageNodes).toEqual(
      [
        ...PHOTOZ_STAGES.map((s) => `photoz-sim.${s}`),
        ...PHOTOZ_STAGES.map((s) => `photoz-observed.${s}`),
        ...['simulate_tod', 'map_split0', 'map_split1', 'spectra'].map((s) => `pspipe-demo.${s}`),
      ].sort(),
    );
    expect(graph.nodes['photoz-sim.train_photoz'].data.tags).toEqual(expect.arrayContaining(['run:photoz-sim', 'pipeline:photoz']));
    const deps = (n: string) => (graph.dependencies[n] ?? []).map((d) => d.target).sort();
    expect(deps('photoz-sim.split_catalog')).toEqual([]);
    expect(deps('photoz-sim.train_photoz')).toEqual(['photoz-sim.split_catalog']);
    expect(deps('photoz-sim.estimate_test')).toEqual(['photoz-sim.split_catalog', 'photoz-sim.train_photoz']);
    expect(deps('photoz-sim.estimate_target')).toEqual(['photoz-sim.train_photoz']);
    expect(deps('photoz-sim.evaluate')).toEqual(['photoz-sim.estimate_test']);
    expect(deps('pspipe-demo.spectra')).toEqual(['pspipe-demo.map_split0', 'pspipe-demo.map_split1']);
    // The run's project depends on its stages: nx graph focused on it shows them all (campaign graph).
    expect(deps('photoz-sim')).toEqual(PHOTOZ_STAGES.map((s) => `photoz-sim.${s}`).sort());
    expect(deps('pspipe-demo.map_split1')).toEqual(['pspipe-demo.simulate_tod']);
    // Runs do not leak into each other.
    expect(deps('photoz-observed.evaluate')).toEqual(['photoz-observed.estimate_test']);
  });

  it('`nx show project <run>.<stage> --json` carries the stage in targets.stage.metadata.campaign', () => {
    const r = nx(ws, ['show', 'project', 'photoz-sim.train_photoz', '--json']);
    expect(r.status, r.out).toBe(0);
    const project = JSON.parse(r.stdout) as { tags: string[]; targets: { stage: { executor: string; metadata: { campaign: Record<string, unknown> } } } };
    expect(project.tags).toEqual(expect.arrayContaining(['run:photoz-sim', 'pipeline:photoz']));
    expect(project.targets.stage.executor).toBe('nx-campaign:stage');
    const c = project.targets.stage.metadata.campaign;
    expect(c.command).toMatch(/^python3 -u .*pipelines\/photoz\/scripts\/train\.py.* --train_catalog=train_catalog\.csv --model=inprogress_model\.json .*--k=7/);
    expect(c.cwd).toBe('results/photoz-sim/outputs');
    expect(c.env).toMatchObject({ NX_CAMPAIGN_RUN: 'photoz-sim', NX_CAMPAIGN_STAGE: 'train_photoz', OMP_NUM_THREADS: '1' });
    expect(c.inputs).toEqual(['results/photoz-sim/outputs/train_catalog.csv']);
    expect(c.outputs).toEqual(['results/photoz-sim/outputs/model.json']);
    expect(c.resources).toMatchObject({ ranks: 1, threads: 1, memory: '512M', runtime: '1m' });
    // Inspecting ran nothing either.
    expect(existsSync(join(ws, 'results'))).toBe(false);
  });
});
