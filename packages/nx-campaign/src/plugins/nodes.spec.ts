import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../testing/fixture';
import { workspaceDataDir } from '../store/stage-state';
import { runProjects } from './nodes';

const PIPELINE = `stages:
  a:
    executable: sh
    script: a.sh
    outputs: ["out/it's a.txt"]
    resources: {threads: 2, memory: 1G, runtime: 5m}
  b:
    executable: sh
    inputs: ["out/it's a.txt"]
    script-kwargs: {n: 1}
  c:
    executable: sh
`;

type Projects = Awaited<ReturnType<typeof runProjects>>;
const stageOf = (p: Projects, name: string) => Object.values(p).find((x) => x.name === name)!.targets.stage;
const runtimeCheck = (p: Projects, name: string) => (stageOf(p, name).inputs as ({ runtime: string } | string)[]).find((i) => typeof i !== 'string') as { runtime: string };
const receipt = (ws: string, finishedAt: string) =>
  writeFileSync(join(workspaceDataDir(ws), 'nx-campaign/r/receipts/a.json'), JSON.stringify({ fingerprint: 'x', outputs: [], finishedAt }));

describe('runProjects', () => {
  let ws: string;
  beforeEach(() => {
    ws = fixture({ 'pipelines/p/pipeline.yaml': PIPELINE, 'pipelines/p/a.sh': 'echo a\n', 'runs/r.yaml': 'pipelines: p\n' });
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));

  it('makes one project per stage with DAG edges, and one per run', async () => {
    const p = await runProjects(ws, 'runs/r.yaml');
    expect(Object.keys(p).sort()).toEqual(['runs/r', 'runs/r/a', 'runs/r/b', 'runs/r/c']);
    expect(p['runs/r/b']).toMatchObject({ name: 'r.b', tags: ['run:r', 'pipeline:p'], implicitDependencies: ['r.a'] });
    const b = stageOf(p, 'r.b');
    expect(b).toMatchObject({ executor: 'nx-campaign:stage', cache: true, dependsOn: ['^stage'], outputs: [], options: { run: 'runs/r.yaml', stage: 'b' } });
    expect(stageOf(p, 'r.a').inputs).toContain('{workspaceRoot}/pipelines/p/a.sh');
    expect(stageOf(p, 'r.a').metadata!.campaign).toMatchObject({ cwd: 'results/r/outputs', resources: { ranks: 1, threads: 2, memory: '1G', runtime: '5m' }, outputs: ["results/r/outputs/out/it's a.txt"] });
    expect(p['runs/r'].targets.run.dependsOn).toEqual([{ projects: ['r.a', 'r.b', 'r.c'], target: 'stage' }]);
    expect(p['runs/r'].targets.plan).toMatchObject({ executor: 'nx-campaign:plan', options: { run: 'runs/r.yaml' }, inputs: [], cache: false });
  });

  it('turns caching off for restart and refuse', async () => {
    writeFileSync(join(ws, 'runs/r.yaml'), 'pipelines: p\nresume: restart\n');
    expect(stageOf(await runProjects(ws, 'runs/r.yaml'), 'r.a').cache).toBe(false);
  });

  it('changes a stage and its descendants, not the others, when its config or script changes', async () => {
    const before = await runProjects(ws, 'runs/r.yaml');
    writeFileSync(join(ws, 'pipelines/p/a.sh'), 'echo A\n');
    const after = await runProjects(ws, 'runs/r.yaml');
    const changed = (name: string) => JSON.stringify(stageOf(before, name).options) !== JSON.stringify(stageOf(after, name).options);
    expect(['r.a', 'r.b', 'r.c'].filter(changed)).toEqual(['r.a', 'r.b']);
  });

  it('bumps the epoch when a configuration comes back, so a stale cache entry is never hit', async () => {
    const first = stageOf(await runProjects(ws, 'runs/r.yaml'), 'r.b').options;
    writeFileSync(join(ws, 'runs/r.yaml'), 'pipelines: p\nconfig:\n  b: {n: 2}\n');
    await runProjects(ws, 'runs/r.yaml');
    writeFileSync(join(ws, 'runs/r.yaml'), 'pipelines: p\n');
    const back = stageOf(await runProjects(ws, 'runs/r.yaml'), 'r.b').options;
    expect(back.fingerprint).toBe(first.fingerprint);
    expect(back.epoch).not.toBe(first.epoch);
    expect(stageOf(await runProjects(ws, 'runs/r.yaml'), 'r.b').options).toEqual(back);
  });

  it('checks outputs with one quoted shell script per run: silent before the first run and while intact, the receipt once deleted', async () => {
    const p = await runProjects(ws, 'runs/r.yaml');
    const { runtime } = runtimeCheck(p, 'r.a');
    expect(runtimeCheck(p, 'r.b')).toEqual({ runtime });
    const sh = () => execFileSync('sh', ['-c', runtime], { cwd: ws, encoding: 'utf8' }).trim();
    expect(sh()).toBe('');
    mkdirSync(join(ws, 'results/r/outputs/out'), { recursive: true });
    mkdirSync(join(workspaceDataDir(ws), 'nx-campaign/r/receipts'), { recursive: true });
    writeFileSync(join(ws, "results/r/outputs/out/it's a.txt"), 'a');
    receipt(ws, 'first');
    expect(sh()).toBe('');
    rmSync(join(ws, "results/r/outputs/out/it's a.txt"));
    expect(sh()).toContain('first');
    receipt(ws, 'repaired');
    expect(sh()).toContain('repaired'); // a second deletion after a repair must not hash like the first
  });

  it('reuses the loaded run until a file it was made from changes', async () => {
    const first = await runProjects(ws, 'runs/r.yaml');
    expect(await runProjects(ws, 'runs/r.yaml')).toEqual(first);
    writeFileSync(join(ws, 'pipelines/p/pipeline.yaml'), PIPELINE.replace('{n: 1}', '{n: 2}'));
    expect(stageOf(await runProjects(ws, 'runs/r.yaml'), 'r.b').metadata!.campaign.config).toEqual({ n: 2 });
    writeFileSync(join(ws, 'pipelines/p/config.yaml'), 'b: {n: 3}\n'); // a file that did not exist before
    expect(stageOf(await runProjects(ws, 'runs/r.yaml'), 'r.b').metadata!.campaign.config).toEqual({ n: 3 });
  });
});
