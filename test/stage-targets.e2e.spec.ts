import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedStages, copyWorkspace, executedStages, listFiles, nx, readFile, removeWorkspace, runStages, writeFile } from './workspace';

/** Running parts of a run: one stage alone, a stage with its upstream, the run project, a trimmed run. */
describe.sequential('pspipe-demo: one stage, a stage with its upstream, the whole run', () => {
  const RUN = 'pspipe-demo';
  const p = (stage: string) => `${RUN}.${stage}`;
  const OUT = `results/${RUN}/outputs`;
  let ws: string;

  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  it('`nx run <run>.<stage>:stage --excludeTaskDependencies` runs that stage alone', () => {
    const r = nx(ws, ['run', `${p('simulate_tod')}:stage`, '--excludeTaskDependencies', '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([p('simulate_tod')]);
    expect(listFiles(join(ws, OUT))).toEqual(['tod/tod.csv']);
    expect(readFile(ws, `${OUT}/tod/tod.csv`).split('\n').length).toBeGreaterThan(1000);
    expect(listFiles(join(ws, `results/${RUN}/logs`))).toEqual(['simulate_tod.log']);
    expect(r.out).toMatch(/^\[simulate_tod\] /m);
  });

  it('`nx run <run>.<stage>:stage` runs everything upstream first, reusing what is cached', () => {
    const r = nx(ws, ['run', `${p('spectra')}:stage`, '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([p('map_split0'), p('map_split1'), p('spectra')]);
    expect(cachedStages(r.out)).toEqual([p('simulate_tod')]);
    expect(listFiles(join(ws, OUT))).toEqual(['maps/split0.csv', 'maps/split1.csv', 'spectra/auto0.csv', 'spectra/auto1.csv', 'spectra/cross.csv', 'tod/tod.csv']);
    const cross = readFile(ws, `${OUT}/spectra/cross.csv`).trim().split(/\r?\n/);
    expect(cross[0]).toBe('ell,C_ell');
    expect(cross.length).toBeGreaterThan(10);
    for (const line of cross.slice(1)) expect(line).toMatch(/^[\d.]+,-?[\d.e+-]+$/);
    for (const stage of ['map_split0', 'map_split1', 'spectra']) {
      expect(readFile(ws, `results/${RUN}/logs/${stage}.log`), stage).toMatch(/wrote /);
    }
    expect(r.out).toMatch(/^\[map_split0\] /m);
    expect(r.out).toMatch(/^\[spectra\] /m);
  });

  it('the whole run through run-many is then fully cached', () => {
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([]);
    expect(cachedStages(r.out)).toEqual([p('map_split0'), p('map_split1'), p('simulate_tod'), p('spectra')]);
  });

  it('`nx run <run>:run` runs (here: restores) every stage of the run', () => {
    const r = nx(ws, ['run', `${RUN}:run`, '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    expect(cachedStages(r.out)).toEqual([p('map_split0'), p('map_split1'), p('simulate_tod'), p('spectra')]);
  });

  it('`to:` in the run file trims the run to a stage and its ancestors', () => {
    // photoz-sim has not run in this copy: trim it to its first two stages.
    const file = 'runs/photoz-sim.yaml';
    writeFile(ws, file, `${readFile(ws, file)}to: train_photoz\n`);
    const projects = nx(ws, ['show', 'projects', '--projects=tag:run:photoz-sim', '--json']);
    expect(projects.status, projects.out).toBe(0);
    expect((JSON.parse(projects.stdout) as string[]).sort()).toEqual(['photoz-sim.split_catalog', 'photoz-sim.train_photoz']);

    const r = runStages(ws, 'photoz-sim');
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual(['photoz-sim.split_catalog', 'photoz-sim.train_photoz']);
    expect(existsSync(join(ws, 'results/photoz-sim/outputs/model.json'))).toBe(true);
    expect(existsSync(join(ws, 'results/photoz-sim/outputs/metrics.json'))).toBe(false);
  });
});
