import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedStages, copyWorkspace, executedStages, listFiles, readFile, removeWorkspace, runStages, writeFile } from './workspace';

/**
 * One copy of the workspace, taken through the life of a run in order:
 * cold run -> unchanged re-run -> config change -> revert -> script edit -> deleted output.
 * Each step relies on the state the previous one left.
 */
const RUN = 'photoz-sim';
const p = (stage: string) => `${RUN}.${stage}`;
const ALL = ['split_catalog', 'train_photoz', 'estimate_test', 'estimate_target', 'evaluate'].map(p).sort();
const OUT = `results/${RUN}/outputs`;
const LOGS = `results/${RUN}/logs`;
const OUTPUT_FILES = ['metrics.json', 'model.json', 'target_photoz.csv', 'test_catalog.csv', 'test_photoz.csv', 'train_catalog.csv'];

describe.sequential('photoz-sim: cold run, cache hits and what invalidates them', () => {
  let ws: string;
  const setK = (k: number) => {
    const file = `runs/${RUN}.yaml`;
    const text = readFile(ws, file);
    expect(text, `${file} no longer has "train_photoz: {k: N}"`).toMatch(/train_photoz: \{k: \d+\}/);
    writeFile(ws, file, text.replace(/train_photoz: \{k: \d+\}/, `train_photoz: {k: ${k}}`));
  };
  const model = () => JSON.parse(readFile(ws, `${OUT}/model.json`)) as { k: number; method: string };

  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  it('cold run executes every stage, writes plausible outputs and one log per stage', () => {
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual(ALL);

    // Outputs: every declared file under its final name, none left in progress.
    expect(listFiles(join(ws, OUT))).toEqual(OUTPUT_FILES);
    const lines = (f: string) => readFile(ws, `${OUT}/${f}`).trim().split(/\r?\n/);
    expect(lines('train_catalog.csv').length - 1).toBe(280);
    expect(lines('test_catalog.csv').length - 1).toBe(120);
    expect(lines('test_photoz.csv')[0]).toBe('id,z_phot,z_true');
    expect(lines('test_photoz.csv').length - 1).toBe(120);
    expect(lines('target_photoz.csv').length - 1).toBe(300);
    expect(model()).toMatchObject({ method: 'knn', k: 7 });
    const metrics = JSON.parse(readFile(ws, `${OUT}/metrics.json`)) as Record<string, number>;
    expect(metrics.n).toBe(120);
    expect(metrics.sigma_nmad).toBeGreaterThan(0);
    expect(metrics.sigma_nmad).toBeLessThan(0.2);
    expect(Math.abs(metrics.bias)).toBeLessThan(0.1);

    // Logs: one per stage, holding the stage's own output and its command.
    expect(listFiles(join(ws, LOGS))).toEqual(['estimate_target.log', 'estimate_test.log', 'evaluate.log', 'split_catalog.log', 'train_photoz.log']);
    const trainLog = readFile(ws, `${LOGS}/train_photoz.log`);
    expect(trainLog).toContain('read 280 training galaxies');
    expect(trainLog).toMatch(/wrote kNN model \(k=7, uniform\)/);
    expect(trainLog).toContain('train.py');
    expect(readFile(ws, `${LOGS}/evaluate.log`)).toContain('evaluated 120 test galaxies');
    expect(readFile(ws, `${LOGS}/split_catalog.log`)).toMatch(/read 400 rows from .*spec\.csv/);

    // Live output is streamed, each line prefixed with its stage.
    expect(r.out).toMatch(/^\[split_catalog\] read 400 rows/m);
    expect(r.out).toMatch(/^\[train_photoz\] wrote kNN model \(k=7, uniform\)/m);
    expect(r.out).toMatch(/^\[evaluate\] evaluated 120 test galaxies/m);
  });

  it('an unchanged re-run restores every stage from the cache and executes nothing', () => {
    const before = readFile(ws, `${LOGS}/train_photoz.log`);
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([]);
    expect(cachedStages(r.out)).toEqual(ALL);
    expect(r.out).not.toMatch(/^\[train_photoz\]/m);
    // Nothing ran, so the log was not rewritten.
    expect(readFile(ws, `${LOGS}/train_photoz.log`)).toBe(before);
  });

  it('changing a stage config value re-runs exactly that stage and its descendants', () => {
    setK(9);
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([p('estimate_target'), p('estimate_test'), p('evaluate'), p('train_photoz')]);
    expect(cachedStages(r.out)).toEqual([p('split_catalog')]);
    expect(model().k).toBe(9);
    expect(readFile(ws, `${LOGS}/train_photoz.log`)).toContain('k=9');
  });

  it('reverting the config change re-runs the affected stages once, then everything is cached', () => {
    setK(7);
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    // The files on disk came from k=9: the old k=7 cache entries must not be trusted.
    expect(executedStages(r.out)).toEqual([p('estimate_target'), p('estimate_test'), p('evaluate'), p('train_photoz')]);
    expect(model().k).toBe(7);

    const again = runStages(ws, RUN);
    expect(again.status, again.out).toBe(0);
    expect(executedStages(again.out)).toEqual([]);
    expect(cachedStages(again.out)).toEqual(ALL);
  });

  it('editing a script re-runs the stages using it and their descendants', () => {
    const script = 'pipelines/photoz/scripts/estimate.py';
    writeFile(ws, script, `${readFile(ws, script)}\n# a harmless comment\n`);
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([p('estimate_target'), p('estimate_test'), p('evaluate')]);
    expect(cachedStages(r.out)).toEqual([p('split_catalog'), p('train_photoz')]);
  });

  it('changing a run input file re-runs only the stages reading it (and their descendants)', () => {
    const file = 'data/photoz/sim/target.csv';
    const rows = readFile(ws, file).trimEnd().split(/\r?\n/);
    writeFile(ws, file, `${rows.slice(0, -1).join('\r\n')}\r\n`); // drop the last galaxy
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual([p('estimate_target')]);
    expect(readFile(ws, `${OUT}/target_photoz.csv`).trim().split(/\r?\n/).length - 1).toBe(299);
  });

  it('deleting an output re-runs the stage that produces it and the file is back', () => {
    rmSync(join(ws, OUT, 'model.json'));
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    // The damage re-hashes the run's stages; the executor runs only the damaged one and
    // reports the others, whose outputs on disk match their configuration, as up to date.
    expect(executedStages(r.out)).toContain(p('train_photoz'));
    expect(r.out).toContain('[train_photoz] ');
    expect(r.out).not.toContain('[split_catalog] ');
    expect(r.out).toMatch(/photoz-sim\/split_catalog: up to date/);
    expect(existsSync(join(ws, OUT, 'model.json')), 'model.json was not re-made').toBe(true);
    expect(model().k).toBe(7);

    const again = runStages(ws, RUN);
    expect(again.status, again.out).toBe(0);
    expect(executedStages(again.out)).toEqual([]);
  });

  it('an output written over since (as another run sharing the folder would) is damage too: its stage runs again', () => {
    writeFile(ws, `${OUT}/model.json`, '{"k": 1}\n');
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out), `train_photoz was cached over a foreign model.json:\n${r.out}`).toContain(p('train_photoz'));
    expect(model().k).toBe(7);
  });

  it('deleting the same output a second time re-makes it again', () => {
    rmSync(join(ws, OUT, 'model.json'));
    const r = runStages(ws, RUN);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out), `train_photoz was restored from the cache although model.json is missing:\n${r.out}`).toContain(p('train_photoz'));
    expect(existsSync(join(ws, OUT, 'model.json')), 'model.json is still missing after a successful run').toBe(true);
  });
});
