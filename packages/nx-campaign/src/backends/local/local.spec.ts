import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../../config/run';
import { fixture } from '../../testing/fixture';
import { runLocally } from './index';

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

const PIPELINE = `stages:
  make:
    executable: sh
    script-args: ["-c", "printf made > out/made.txt"]
    outputs: [out/made.txt]
  given:
    executable: sh
    script-args: ["-c", "cat out/made.txt > \\"$0\\"", out/given.txt]
    inputs: [out/made.txt]
    outputs: [out/given.txt]
  partial:
    executable: sh
    script-args: ["-c", "printf half > out/partial.txt; exit 3"]
    outputs: [out/partial.txt]
  forgetful:
    executable: sh
    script-args: ["-c", "echo forgot"]
    outputs: [out/never.txt]
  downstream:
    executable: sh
    script-args: ["-c", "true"]
    inputs: [out/partial.txt]
`;

describe('runLocally', () => {
  it('makes outputs atomic, fails a stage that forgets an output, and logs each stage', async () => {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': PIPELINE, 'runs/r.yaml': 'pipelines: p\npre_script: echo pre > pre.txt\npost_script: echo post > post.txt\n' });
    const run = loadRun(ws, 'runs/r.yaml');
    const lines: string[] = [];
    const results = await collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: join(ws, '.nx/workspace-data'), print: (l) => lines.push(l) }));
    const by = Object.fromEntries(results.map((r) => [r.stage, r.result]));
    const out = join(ws, 'results/r/outputs/out');
    expect(by.make.status).toBe('success');
    expect(readFileSync(join(out, 'given.txt'), 'utf8')).toBe('made');
    expect(existsSync(join(out, 'inprogress_given.txt'))).toBe(false);
    expect(by.partial).toMatchObject({ status: 'failure', message: expect.stringContaining('exited with code 3') });
    expect(existsSync(join(out, 'partial.txt'))).toBe(false);
    expect(readFileSync(join(out, 'inprogress_partial.txt'), 'utf8')).toBe('half');
    expect(by.downstream).toMatchObject({ status: 'skipped', message: 'skipped: upstream stage partial failed' });
    expect(by.forgetful).toMatchObject({ status: 'failure', message: expect.stringContaining(`did not write ${join(out, 'never.txt')}`) });
    expect(readFileSync(join(ws, 'results/r/logs/forgetful.log'), 'utf8')).toContain('forgot');
    expect(lines).toContain('[forgetful] forgot');
    expect(existsSync(join(ws, 'pre.txt'))).toBe(true);
    expect(existsSync(join(ws, 'post.txt'))).toBe(false); // a stage failed
    expect(existsSync(join(ws, '.nx/workspace-data/nx-campaign/r/receipts/make.json'))).toBe(true);
    expect(existsSync(join(ws, '.nx/workspace-data/nx-campaign/r/receipts/partial.json'))).toBe(false);
  });

  it('an output that is a folder: an earlier one is removed with what it holds, and the stage makes it anew', async () => {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  s:\n    executable: sh\n    script-args: ["-c", "mkdir -p maps/deep; echo new > maps/deep/a"]\n    outputs: [maps]\n', 'runs/r.yaml': 'pipelines: p\n', 'results/r/outputs/maps/deep/stale': 'old' });
    const run = loadRun(ws, 'runs/r.yaml');
    const [r] = await collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: ws, print: () => {} }));
    expect(r.result.status, r.result.message).toBe('success');
    expect(existsSync(join(ws, 'results/r/outputs/maps/deep/stale'))).toBe(false);
    expect(readFileSync(join(ws, 'results/r/outputs/maps/deep/a'), 'utf8')).toBe('new\n');
  });

  it('refuses to overwrite existing outputs under resume: refuse', async () => {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  s:\n    executable: touch\n    script-args: [x.txt]\n    outputs: [x.txt]\n', 'runs/r.yaml': 'pipelines: p\nresume: refuse\n', 'results/r/outputs/x.txt': 'old' });
    const run = loadRun(ws, 'runs/r.yaml');
    const [r] = await collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: ws, print: () => {} }));
    expect(r.result).toMatchObject({ status: 'failure', message: expect.stringContaining('already exists') });
    expect(readFileSync(join(ws, 'results/r/outputs/x.txt'), 'utf8')).toBe('old');
  });

  it('on interrupt, stops running stages and leaves no complete-looking output, even from a command that then exits 0', async () => {
    const ws = fixture({
      'pipelines/p/pipeline.yaml': `stages:
  stubborn:
    executable: sh
    script-args: ["-c", "trap 'exit 0' TERM; echo partial > out/s.txt; sleep 20 & wait"]
    outputs: [out/s.txt]
  after:
    executable: touch
    script-args: [out/after.txt]
    inputs: [out/s.txt]
    outputs: [out/after.txt]
`,
      'runs/r.yaml': 'pipelines: p\n',
    });
    const run = loadRun(ws, 'runs/r.yaml');
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 500);
    const started = Date.now();
    const results = await collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: join(ws, '.nx/workspace-data'), print: () => {}, signal: abort.signal }));
    expect(Date.now() - started).toBeLessThan(10_000);
    const by = Object.fromEntries(results.map((r) => [r.stage, r.result]));
    expect(by.stubborn).toMatchObject({ status: 'failure', message: expect.stringContaining('interrupted') });
    expect(by.after.status).toBe('skipped');
    const out = join(ws, 'results/r/outputs/out');
    expect(existsSync(join(out, 's.txt'))).toBe(false);
    expect(readFileSync(join(out, 'inprogress_s.txt'), 'utf8')).toBe('partial\n');
    expect(existsSync(join(ws, '.nx/workspace-data/nx-campaign/r/receipts/stubborn.json'))).toBe(false);
  });

  it('rejects a stage larger than the machine before running anything', async () => {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  big:\n    executable: touch\n    script-args: [x]\n    resources: {ranks: 4, threads: 2}\n', 'runs/r.yaml': 'pipelines: p\n' });
    const run = loadRun(ws, 'runs/r.yaml');
    await expect(collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: ws, capacity: { cores: 4, memoryMB: 8000 }, print: () => {} }))).rejects.toThrow(
      'r/big needs 8 cores and 2G; this machine has 4 cores and 8G',
    );
    expect(existsSync(join(ws, 'results'))).toBe(false);
  });

  it('passes hostile config values as single arguments, never to a shell', async () => {
    const evil = '$(touch pwned); `touch pwned2`; echo "x\'y"\ntouch pwned3';
    const ws = fixture({
      'pipelines/p/pipeline.yaml': 'stages:\n  s:\n    executable: sh\n    script-args: ["-c", "printf %s \\"$1\\" > arg.txt", sh]\n',
      'runs/r.yaml': `pipelines: p\nconfig:\n  s: {evil: ${JSON.stringify(evil)}}\n`,
    });
    const run = loadRun(ws, 'runs/r.yaml');
    const [r] = await collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: ws, print: () => {} }));
    expect(r.result.status).toBe('success');
    const outDir = join(ws, 'results/r/outputs');
    expect(readFileSync(join(outDir, 'arg.txt'), 'utf8')).toBe(`--evil=${evil}`);
    expect(['pwned', 'pwned2', 'pwned3'].filter((f) => existsSync(join(outDir, f)) || existsSync(join(ws, f)))).toEqual([]);
  });

  it('names the stage launcher and the fix when python3 cannot be started', async () => {
    const ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  s:\n    executable: "true"\n', 'runs/r.yaml': 'pipelines: p\n' });
    const run = loadRun(ws, 'runs/r.yaml');
    const before = process.env.NX_CAMPAIGN_PYTHON;
    process.env.NX_CAMPAIGN_PYTHON = join(ws, 'no-python3');
    try {
      const [r] = await collect(runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: ws, dataDir: ws, print: () => {} }));
      expect(r.result).toMatchObject({ status: 'failure', message: expect.stringContaining('could not start the stage launcher') });
      expect(r.result.message).toContain('fix: install Python 3.8 or later as python3, or set NX_CAMPAIGN_PYTHON');
    } finally {
      if (before === undefined) delete process.env.NX_CAMPAIGN_PYTHON;
      else process.env.NX_CAMPAIGN_PYTHON = before;
    }
  });
});
