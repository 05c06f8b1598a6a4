import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, nx, readFile, removeWorkspace, runStages, writeFile } from './workspace';

/** Two runs in one folder would overwrite, damage and clean each other's files: both are refused. */
describe('runs sharing a folder', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
    writeFile(ws, 'runs/twin.yaml', readFile(ws, 'runs/photoz-sim.yaml').replace('log_dir: results/photoz-sim/logs', 'log_dir: results/twin/logs'));
  });
  afterAll(() => removeWorkspace(ws));

  it('are both refused, each at its line naming the other; the other runs are untouched', () => {
    const r = nx(ws, ['show', 'projects']);
    expect(r.status, r.out).toBe(0);
    expect(r.stderr).toMatch(/runs\/twin\.yaml:3 \(output_dir\): output_dir results\/photoz-sim\/outputs is also output_dir of runs\/photoz-sim\.yaml/);
    expect(r.stderr).toMatch(/runs\/photoz-sim\.yaml:3 \(output_dir\): output_dir results\/photoz-sim\/outputs is also output_dir of runs\/twin\.yaml/);
    const projects = r.stdout.split('\n');
    expect(projects.filter((p) => p.startsWith('photoz-sim.') || p.startsWith('twin.'))).toEqual([]);
    expect(projects.filter((p) => p.startsWith('photoz-observed.'))).toHaveLength(5);
    const run = runStages(ws, 'twin');
    expect(run.status).not.toBe(0);
    expect(run.out).toContain('the runs would overwrite and clean each other');
  });
});
