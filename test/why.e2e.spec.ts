import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, copyWorkspace, executedStages, readFile, removeWorkspace, runStages, writeFile } from './workspace';

const line = (out: string, stage: string) => out.split('\n').find((l) => l.startsWith(`${stage} `)) ?? `(no line for ${stage})`;
const lastRan = (out: string, stage: string) => {
  const lines = out.split('\n');
  return lines[lines.findIndex((l) => l.startsWith(`${stage} `)) + 1] ?? '';
};

/** `campaign why`: the reason each stage runs or is cached, from the fingerprint parts the record keeps. */
describe('campaign why', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
    expect(runStages(ws, 'photoz-sim').status).toBe(0);
  }, 120_000);
  afterAll(() => removeWorkspace(ws));

  it('says every stage is cached after a run, and that each last ran as a first run', () => {
    const r = campaign(ws, ['why', 'photoz-sim']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/^run photoz-sim: 0 of 5 stage\(s\) would run now\n/);
    expect(line(r.out, 'train_photoz')).toMatch(/cached: nothing changed since attempt 1 \(\d{4}-\d\d-\d\d /);
    expect(lastRan(r.out, 'train_photoz')).toMatch(/last ran \(attempt 1, succeeded\): first run$/);
  });

  it('names the config key that changed with its old and new value, and the parent that runs again for the stages after it', () => {
    writeFile(ws, 'runs/photoz-sim.yaml', readFile(ws, 'runs/photoz-sim.yaml').replace('train_photoz: {k: 7}', 'train_photoz: {k: 9}'));
    const r = campaign(ws, ['why', 'photoz-sim']);
    expect(r.out).toMatch(/^run photoz-sim: 4 of 5 stage\(s\) would run now/);
    expect(line(r.out, 'split_catalog')).toMatch(/cached: nothing changed/);
    expect(line(r.out, 'train_photoz')).toMatch(/runs: config k: 7 -> 9; command: "--k=7" -> "--k=9"$/);
    expect(line(r.out, 'estimate_test')).toMatch(/runs: parent train_photoz changed \(it runs again first\)$/);
    // What Nx does agrees: those four run.
    const run = runStages(ws, 'photoz-sim');
    expect(executedStages(run.out)).toEqual(['photoz-sim.estimate_target', 'photoz-sim.estimate_test', 'photoz-sim.evaluate', 'photoz-sim.train_photoz']);
    const after = campaign(ws, ['why', 'photoz-sim', 'train_photoz']).out;
    expect(line(after, 'train_photoz')).toMatch(/cached: nothing changed since attempt 2/);
    expect(lastRan(after, 'train_photoz')).toMatch(/last ran \(attempt 2, succeeded\): config k: 7 -> 9; command: "--k=7" -> "--k=9"$/);
    const json = JSON.parse(campaign(ws, ['why', 'photoz-sim', 'evaluate', '--json']).stdout);
    expect(json).toEqual({ run: 'photoz-sim', stages: [expect.objectContaining({ stage: 'evaluate', verdict: 'cached', last: expect.objectContaining({ attempt: 2, reason: 'parent estimate_test changed (it runs again first)' }) })] });
  }, 120_000);

  it('names an input file that changed (size and time) and an output gone missing', () => {
    writeFile(ws, 'data/photoz/sim/target.csv', `${readFile(ws, 'data/photoz/sim/target.csv')}\n`);
    rmSync(join(ws, 'results/photoz-sim/outputs/'), { recursive: true, force: true });
    const r = campaign(ws, ['why', 'photoz-sim']).out;
    expect(line(r, 'estimate_target')).toMatch(/runs: input data\/photoz\/sim\/target\.csv changed \((\d+) bytes, [\d-]+ [\d:]+ -> (\d+) bytes, [\d-]+ [\d:]+\)$/);
    const [, before, now] = /\((\d+) bytes.* -> (\d+) bytes/.exec(line(r, 'estimate_target'))!;
    expect(Number(now)).toBe(Number(before) + 1);
    expect(line(r, "split_catalog")).toMatch(/runs: output results\/photoz-sim\/outputs\/train_catalog\.csv, results\/photoz-sim\/outputs\/test_catalog\.csv missing$/);
    expect(campaign(ws, ['why', 'photoz-sim', 'nope']).out).toMatch(/^photoz-sim has no stage nope\n {2}fix: campaign report photoz-sim/);
  });
});
