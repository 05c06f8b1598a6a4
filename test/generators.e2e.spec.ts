import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, executedStages, nx, readFile, removeWorkspace, runStages } from './workspace';

/** Generators through real `nx g`: what they write passes validation and runs at once. */
describe.sequential('nx g nx-campaign:*', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  it('--dry-run writes nothing', () => {
    const r = nx(ws, ['g', 'nx-campaign:pipeline', 'dry', '--dry-run', '--no-interactive']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('CREATE pipelines/dry/pipeline.yaml');
    expect(r.out).toMatch(/NOTE: The "dryRun" flag means no changes were made/);
    expect(nx(ws, ['show', 'projects']).out).not.toContain('dry');
  });

  it('pipeline, stage and run: generated, then run through nx run-many, then cached', () => {
    for (const args of [
      ['nx-campaign:pipeline', 'demo-pipe'],
      ['nx-campaign:stage', 'summarize', '--pipeline=demo-pipe', '--inputs=result:txt', '--outputs=summary:txt', '--options=lines:int=3'],
      ['nx-campaign:run', 'demo-run', '--pipelines=demo-pipe'],
      ['nx-campaign:campaign', 'weekly', '--workflows=ml-mapmaking,elevation-tests'],
      ['nx-campaign:site', 'stellar', '--nodes=4', '--cores=96', '--memory=768G', '--partition=pu'],
    ]) {
      const g = nx(ws, ['g', ...args, '--no-interactive']);
      expect(g.status, g.out).toBe(0);
    }
    const r = runStages(ws, 'demo-run');
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual(['demo-run.make', 'demo-run.summarize']);
    expect(readFile(ws, 'results/demo-run/outputs/summary.txt')).toMatch(/^summarize: lines=3 .*\nmake: message=hello .*\n$/);
    expect(executedStages(runStages(ws, 'demo-run').out)).toEqual([]);
    const plan = nx(ws, ['run', 'weekly:plan', '--json']);
    expect(plan.status, plan.out).toBe(0);
    expect(plan.out).toContain('ml-null-tests.elevation-tests.elevation_high_split_1');
    const onSite = nx(ws, ['run', 'demo-run:plan', '--site=stellar']);
    expect(onSite.status, onSite.out).toBe(0);
    expect(onSite.out).toContain('plan of runs/demo-run.yaml on stellar');
  }, 120_000);
});
