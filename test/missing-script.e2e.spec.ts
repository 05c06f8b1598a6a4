import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, executedStages, removeWorkspace, runStages, writeFile } from './workspace';

/** A script that is not there fails the run before any stage runs, not at its first stage that needs it. */
describe('a run with a missing script', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
    writeFile(ws, 'pipelines/gone/pipeline.yaml', `stages:
  first:
    executable: sh
    script-args: ["-c", "echo ran > out/first.txt"]
    depends: null
    outputs: [out/first.txt]
    resources: {memory: 100M, runtime: 1m}
  second:
    executable: python3
    script: scripts/gone.py
    inputs: [out/first.txt]
    resources: {memory: 100M, runtime: 1m}
`);
    writeFile(ws, 'runs/gone.yaml', 'pipelines: gone\n');
  });
  afterAll(() => removeWorkspace(ws));

  it('fails naming the file at its stage, and runs nothing', () => {
    const r = runStages(ws, 'gone');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/pipelines\/gone\/pipeline\.yaml:8 \(second\): stage second's file pipelines\/gone\/scripts\/gone\.py does not exist/);
    expect(r.out).not.toMatch(/Error: |    at /);
    expect(existsSync(join(ws, 'results/gone/outputs/out/first.txt'))).toBe(false);
  });

  it('runs once the script is there', () => {
    writeFile(ws, 'pipelines/gone/scripts/gone.py', 'print("second ran")\n');
    const r = runStages(ws, 'gone');
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out).sort()).toEqual(['gone.first', 'gone.second']);
  });
});
