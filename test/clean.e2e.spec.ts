import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, copyWorkspace, readFile, removeWorkspace, runStages, writeFile } from './workspace';

/** `campaign clean`: only what the run wrote goes. */
describe.sequential('campaign clean', () => {
  let ws: string;
  const OUT = 'results/photoz-sim/outputs';
  const LOGS = 'results/photoz-sim/logs';
  beforeAll(() => {
    ws = copyWorkspace();
    const r = runStages(ws, 'photoz-sim');
    expect(r.status, r.out).toBe(0);
  });
  afterAll(() => removeWorkspace(ws));

  it('removes the intermediates its receipts stamp and archives its own logs; the rest of the folders stays', () => {
    // A user's notes beside the logs, and an intermediate written over by someone else.
    writeFile(ws, `${LOGS}/notes.txt`, 'mine\n');
    writeFile(ws, `${LOGS}/mine/keep.txt`, 'mine\n');
    writeFile(ws, `${OUT}/test_catalog.csv`, 'not the run\'s\n');
    const dry = campaign(ws, ['clean', 'photoz-sim']);
    expect(dry.status, dry.out).toBe(0);
    expect(dry.out).toContain('dry run: nothing changed');
    expect(existsSync(join(ws, OUT, 'train_catalog.csv'))).toBe(true);

    const r = campaign(ws, ['clean', 'photoz-sim', '--yes']);
    expect(r.status, r.out).toBe(0);
    // split_catalog's train set fed train_photoz, whose model exists: an intermediate, removed.
    expect(existsSync(join(ws, OUT, 'train_catalog.csv'))).toBe(false);
    expect(r.out).toContain('intermediate of split_catalog');
    // The file someone else wrote is not the run's to delete.
    expect(readFile(ws, `${OUT}/test_catalog.csv`)).toBe("not the run's\n");
    // Final outputs stay.
    expect(existsSync(join(ws, OUT, 'metrics.json'))).toBe(true);
    // The run's logs are archived and removed; the user's files are untouched.
    const left = readdirSync(join(ws, LOGS)).sort();
    expect(left.filter((f) => f.endsWith('.log'))).toEqual([]);
    expect(left.filter((f) => f.endsWith('.tar.gz'))).toHaveLength(1);
    expect(readFile(ws, `${LOGS}/notes.txt`)).toBe('mine\n');
    expect(readFile(ws, `${LOGS}/mine/keep.txt`)).toBe('mine\n');
  });
});
