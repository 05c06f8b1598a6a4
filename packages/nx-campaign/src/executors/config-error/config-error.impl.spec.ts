import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fixture } from '../../testing/fixture';
import configErrorExecutor from './config-error.impl';

describe('config-error executor', () => {
  let ws: string;
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const run = () => configErrorExecutor({ run: 'runs/r.yaml' }, { root: ws } as ExecutorContext);
  beforeEach(() => {
    stderr.mockClear();
    ws = fixture({ 'pipelines/p/pipeline.yaml': 'stages:\n  a: {executable: sh}\n', 'runs/r.yaml': 'pipelines: p\nbogus: 1\n' });
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));
  afterAll(() => stderr.mockRestore());

  it("fails with the run file's located mistake", async () => {
    expect(await run()).toEqual({ success: false });
    expect(stderr.mock.calls.join('')).toMatch(/^runs\/r\.yaml:2 \(bogus\): Unrecognized key: "bogus"\n {2}fix: /);
  });

  it('fails, asking to run again, when the file loads by now', async () => {
    writeFileSync(join(ws, 'runs/r.yaml'), 'pipelines: p\n');
    expect(await run()).toEqual({ success: false });
    expect(stderr.mock.calls.join('')).toMatch(/^runs\/r\.yaml loads now; the project graph is older: run the command again\n$/);
  });
});
