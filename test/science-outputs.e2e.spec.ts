import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, executedStages, listFiles, readFile, removeWorkspace, runStages, treeBytes, writeFile } from './workspace';

const BIG = 50_000_000;

const PIPELINE = `stages:
  make_big:
    executable: sh
    script-args: ["-c", "head -c ${BIG} /dev/zero > big/big.bin; echo wrote the big file"]
    depends: null
    outputs: [big/big.bin]
    resources: {memory: 100M, runtime: 1m}
  measure:
    executable: sh
    script-args: ["-c", "wc -c < big/big.bin | tr -d ' ' > big/size.txt"]
    inputs: [big/big.bin]
    outputs: [big/size.txt]
    resources: {memory: 100M, runtime: 1m}
`;

describe.sequential('science outputs and run hooks', () => {
  const RUN = 'big';
  let ws: string;
  let r: ReturnType<typeof runStages>;
  let cacheGrowth: number;

  beforeAll(() => {
    ws = copyWorkspace();
    writeFile(ws, 'pipelines/big/pipeline.yaml', PIPELINE);
    writeFile(
      ws,
      `runs/${RUN}.yaml`,
      [
        'pipelines: big',
        'output_dir: products/{run}',
        'log_dir: products/{run}-logs',
        'pre_script: echo "pre $NX_CAMPAIGN_RUN" > hooks-pre.txt; ls products/big/big >> hooks-pre.txt 2>/dev/null || true',
        'post_script: echo "post $NX_CAMPAIGN_RUN" > hooks-post.txt; cat products/big/big/size.txt >> hooks-post.txt',
        '',
      ].join('\n'),
    );
    const cache = join(ws, '.nx', 'cache');
    const before = treeBytes(cache);
    r = runStages(ws, RUN);
    cacheGrowth = treeBytes(cache) - before;
  });
  afterAll(() => removeWorkspace(ws));

  it('a stage writing a 50 MB file adds far less than that to .nx/cache', () => {
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual(['big.make_big', 'big.measure']);
    expect(statSync(join(ws, 'products/big/big/big.bin')).size).toBe(BIG);
    expect(readFile(ws, 'products/big/big/size.txt').trim()).toBe(String(BIG));
    expect(cacheGrowth).toBeGreaterThan(0); // the run was recorded...
    expect(cacheGrowth).toBeLessThan(1_000_000); // ...without the science outputs
  });

  it('outputs and logs go to the run\'s output_dir and log_dir ({run} substituted)', () => {
    expect(listFiles(join(ws, 'products/big'))).toEqual(['big/big.bin', 'big/size.txt']);
    expect(listFiles(join(ws, 'products/big-logs'))).toEqual(['make_big.log', 'measure.log', 'post_script.log', 'pre_script.log']);
    expect(readFile(ws, 'products/big-logs/make_big.log')).toContain('wrote the big file');
    expect(r.out).toMatch(/^\[make_big\] wrote the big file$/m);
    expect(existsSync(join(ws, 'results'))).toBe(false);
  });

  it('pre_script runs from the workspace root before the first stage, post_script after the last', () => {
    // Before any stage: no outputs listed yet.
    expect(readFile(ws, 'hooks-pre.txt').trim()).toBe('pre big');
    expect(readFile(ws, 'hooks-post.txt').trim()).toBe(`post big\n${BIG}`);
  });

  it('a cached re-run neither executes stages nor grows the cache by the outputs', () => {
    const cache = join(ws, '.nx', 'cache');
    const before = treeBytes(cache);
    const again = runStages(ws, RUN);
    expect(again.status, again.out).toBe(0);
    expect(executedStages(again.out)).toEqual([]);
    expect(treeBytes(cache) - before).toBeLessThan(1_000_000);
    expect(statSync(join(ws, 'products/big/big/big.bin')).size).toBe(BIG);
  });
});
