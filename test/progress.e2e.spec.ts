import { afterAll, expect, it } from 'vitest';
import { copyWorkspace, removeWorkspace, runStages, writeFile } from './workspace';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeWorkspace));

it('prints a progress line every few seconds while a run executes: done, running, queued, failed, time left', () => {
  const ws = copyWorkspace();
  dirs.push(ws);
  const stage = (name: string, depends: string) => `  ${name}:\n    executable: sleep\n    script-args: ["1.5"]\n    depends: ${depends}\n    resources: {threads: 1, memory: 10M, runtime: 1m}\n`;
  writeFile(ws, 'pipelines/slow/pipeline.yaml', `stages:\n${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => stage(`s${i}`, i < 2 ? 'null' : `[s${i - 2}]`)).join('')}`);
  writeFile(ws, 'runs/slow.yaml', 'pipelines: slow\n');
  const started = Date.now();
  const r = runStages(ws, 'slow');
  const seconds = (Date.now() - started) / 1000;
  expect(r.status, r.out).toBe(0);
  const lines = r.out.split('\n').filter((l) => l.startsWith('progress: '));
  expect(lines.length, r.out).toBeGreaterThanOrEqual(1);
  // At most one every 5 s.
  expect(lines.length).toBeLessThanOrEqual(Math.floor(seconds / 5) + 1);
  for (const l of lines) {
    const m = /^progress: (\d+)\/8 done, (\d+) running, (\d+) queued, (\d+) failed; about \S+ left$/.exec(l);
    expect(m, l).not.toBeNull();
    const [done, running, queued, failed] = m!.slice(1).map(Number);
    expect(done + running + queued + failed).toBe(8);
    expect(running).toBeLessThanOrEqual(2);
  }
}, 60_000);
