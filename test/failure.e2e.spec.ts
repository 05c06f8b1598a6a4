import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedStages, copyWorkspace, executedStages, listFiles, readFile, removeWorkspace, runStages, writeFile } from './workspace';

/**
 *        a ──> b (exits 3) ──> c ──> d
 *        ├──> b2 (writes its output itself, exits 4)
 *        └──> e ──> f
 *   lazy (exits 0, never writes its output)
 */
const PIPELINE = `stages:
  a:
    executable: sh
    script-args: ["-c", "echo made a; echo A > out/a.txt"]
    depends: null
    outputs: [out/a.txt]
    resources: {ranks: 1, threads: 1, memory: 100M, runtime: 1m}
  b:
    executable: sh
    script-args: ["-c", "echo partial > $0; echo b is failing >&2; exit 3", out/b.txt]
    inputs: [out/a.txt]
    outputs: [out/b.txt]
    resources: {memory: 100M, runtime: 1m}
  b2:
    executable: sh
    script-args: ["-c", "echo partial > out/b2.txt; echo b2 is failing; exit 4"]
    depends: [a]
    outputs: [out/b2.txt]
    resources: {memory: 100M, runtime: 1m}
  c:
    executable: sh
    script-args: ["-c", "cat out/b.txt > out/c.txt"]
    inputs: [out/b.txt]
    outputs: [out/c.txt]
    resources: {memory: 100M, runtime: 1m}
  d:
    executable: sh
    script-args: ["-c", "cat out/c.txt > out/d.txt"]
    inputs: [out/c.txt]
    outputs: [out/d.txt]
    resources: {memory: 100M, runtime: 1m}
  e:
    executable: sh
    script-args: ["-c", "echo independent branch; cat out/a.txt > out/e.txt"]
    depends: [a]
    outputs: [out/e.txt]
    resources: {memory: 100M, runtime: 1m}
  f:
    executable: sh
    script-args: ["-c", "cat out/e.txt > out/f.txt; echo F >> out/f.txt"]
    inputs: [out/e.txt]
    outputs: [out/f.txt]
    resources: {memory: 100M, runtime: 1m}
  lazy:
    executable: sh
    script-args: ["-c", "echo forgot to write my output"]
    depends: null
    outputs: [out/lazy.txt]
    resources: {memory: 100M, runtime: 1m}
`;

describe.sequential('failure isolation', () => {
  const RUN = 'failing';
  const p = (stage: string) => `${RUN}.${stage}`;
  const OUT = `results/${RUN}/outputs`;
  let ws: string;
  let first: ReturnType<typeof runStages>;

  beforeAll(() => {
    ws = copyWorkspace();
    writeFile(ws, 'pipelines/failing/pipeline.yaml', PIPELINE);
    writeFile(ws, `runs/${RUN}.yaml`, 'pipelines: failing\n');
    first = runStages(ws, RUN);
  });
  afterAll(() => removeWorkspace(ws));

  it('nx exits non-zero and reports the failed stages', () => {
    expect(first.status, first.out).not.toBe(0);
    const failed = /Failed tasks:\n\n((?:- .*\n)+)/.exec(first.out)?.[1] ?? '';
    expect(failed).toContain(`${p('b')}:stage`);
    expect(failed).toContain(`${p('b2')}:stage`);
    expect(failed).toContain(`${p('lazy')}:stage`);
    expect(failed).not.toContain(`${p('e')}:stage`);
    expect(first.out).toMatch(/failing\/b: exited with code 3/);
    expect(first.out).toMatch(/failing\/b2: exited with code 4/);
    // The failure shows the tail of the stage's log.
    expect(first.out).toContain('b is failing');
  });

  it('descendants of a failed stage are skipped with a message naming it, and never run', () => {
    for (const stage of ['c', 'd']) {
      expect(first.out).toMatch(new RegExp(`failing/${stage}: skipped: upstream stage (failing/)?b failed`));
      expect(first.out).toMatch(new RegExp(`^- ${p(stage)}:stage$`, 'm'));
      expect(existsSync(join(ws, `results/${RUN}/logs/${stage}.log`)), `${stage} has a log: it ran`).toBe(false);
    }
    expect(executedStages(first.out)).not.toContain(p('c'));
    expect(executedStages(first.out)).not.toContain(p('d'));
  });

  it('independent branches still complete', () => {
    expect(readFile(ws, `${OUT}/out/a.txt`).trim()).toBe('A');
    expect(readFile(ws, `${OUT}/out/e.txt`).trim()).toBe('A');
    expect(readFile(ws, `${OUT}/out/f.txt`).trim()).toBe('A\nF');
    expect(readFile(ws, `results/${RUN}/logs/e.log`)).toContain('independent branch');
  });

  it('a failed stage leaves no file under its final output name, only inprogress_<name>', () => {
    const files = listFiles(join(ws, OUT));
    expect(files).toEqual(['out/a.txt', 'out/e.txt', 'out/f.txt', 'out/inprogress_b.txt', 'out/inprogress_b2.txt']);
    expect(readFile(ws, `${OUT}/out/inprogress_b.txt`).trim()).toBe('partial');
    expect(readFile(ws, `${OUT}/out/inprogress_b2.txt`).trim()).toBe('partial');
    expect(readFile(ws, `results/${RUN}/logs/b.log`)).toContain('b is failing');
    expect(readFile(ws, `results/${RUN}/logs/b2.log`)).toContain('b2 is failing');
  });

  it('a stage exiting 0 without writing a declared output fails, naming the file', () => {
    expect(first.out).toMatch(/failing\/lazy: exited 0 but did not write \S*out\/lazy\.txt/);
    expect(existsSync(join(ws, `${OUT}/out/lazy.txt`))).toBe(false);
    expect(readFile(ws, `results/${RUN}/logs/lazy.log`)).toContain('forgot to write my output');
  });

  it('after fixing the failed stage, a re-run runs it and what it blocked; finished stages stay cached', () => {
    const file = 'pipelines/failing/pipeline.yaml';
    writeFile(ws, file, readFile(ws, file).replace('echo b is failing >&2; exit 3', 'echo b is fixed'));
    const r = runStages(ws, RUN);
    // b2 and lazy still fail.
    expect(r.status, r.out).not.toBe(0);
    expect(executedStages(r.out)).toEqual([p('b'), p('b2'), p('c'), p('d'), p('lazy')]);
    expect(cachedStages(r.out)).toEqual([p('a'), p('e'), p('f')]);
    expect(readFile(ws, `${OUT}/out/d.txt`).trim()).toBe('partial');
    expect(existsSync(join(ws, `${OUT}/out/inprogress_b.txt`))).toBe(false);
  });

  it('a stage failing after an earlier success leaves no stale file under its final output name', () => {
    // b succeeded in the previous test (out/b.txt exists); now it fails again.
    expect(readFile(ws, `${OUT}/out/b.txt`).trim()).toBe('partial');
    const file = 'pipelines/failing/pipeline.yaml';
    writeFile(ws, file, readFile(ws, file).replace('echo b is fixed', 'echo b broke again >&2; exit 5'));
    const r = runStages(ws, RUN);
    expect(r.status, r.out).not.toBe(0);
    expect(executedStages(r.out)).toContain(p('b'));
    expect(r.out).toMatch(/failing\/b: exited with code 5/);
    expect(existsSync(join(ws, `${OUT}/out/inprogress_b.txt`)), 'the failed attempt is kept as inprogress_b.txt').toBe(true);
    expect(existsSync(join(ws, `${OUT}/out/b.txt`)), 'out/b.txt from the earlier success is still there after b failed').toBe(false);
  });
});
