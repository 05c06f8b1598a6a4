import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AggregateCreateNodesError } from 'nx/src/project-graph/error-types';
import { fixture } from '../testing/fixture';
import { workspaceDataDir } from '../store/stage-state';
import { createNodes, runProjects } from './nodes';

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

describe('createNodes', () => {
  let ws: string;
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  const create = async (files: string[]) => createNodes[1](files, undefined, { workspaceRoot: ws, nxJsonConfiguration: {} });
  const projectNames = async (files: string[]) => (await create(files)).flatMap(([, r]) => Object.values(r.projects ?? {}).map((p) => p.name)).sort();
  beforeEach(() => {
    warn.mockClear();
    ws = fixture({ 'pipelines/p/pipeline.yaml': PIPELINE, 'pipelines/p/a.sh': 'echo a\n', 'runs/r.yaml': 'pipelines: p\n', 'runs/s.yaml': 'pipelines: p\nresume: p\nbogus: 1\n' });
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));
  afterAll(() => warn.mockRestore());

  it("makes nx.json the workspace's `campaign` project: serve (continuous), status and watch over the whole record", async () => {
    const [[file, r]] = await create(['nx.json']);
    expect(file).toBe('nx.json');
    const p = r.projects!['.campaign'];
    expect(p.name).toBe('campaign');
    expect(Object.fromEntries(Object.entries(p.targets!).map(([k, t]) => [k, [t.executor, t.options.command, t.continuous]]))).toEqual({ serve: ['nx-campaign:workspace', 'serve', true], status: ['nx-campaign:workspace', 'status', false], watch: ['nx-campaign:workspace', 'watch', false] });
    expect(await projectNames(['nx.json', 'runs/r.yaml'])).toEqual(['campaign', 'r', 'r.a', 'r.b', 'r.c']);
  });

  it('makes a run whose file has a mistake its run project alone, whose targets report it; the others load; each mistake is logged once', async () => {
    const results = await create(['runs/r.yaml', 'runs/s.yaml']);
    expect(Object.values(results[0][1].projects!).map((p) => p.name).sort()).toEqual(['r', 'r.a', 'r.b', 'r.c']);
    const broken = results[1][1].projects!;
    expect(Object.keys(broken)).toEqual(['runs/s']);
    const s = broken['runs/s'];
    expect(s).toMatchObject({ name: 's', tags: ['campaign-run', 'run:s'] });
    for (const target of ['run', 'stage']) expect(s.targets![target]).toMatchObject({ executor: 'nx-campaign:config-error', options: { run: 'runs/s.yaml' }, cache: false });
    expect(s.targets!['dry-run']).toMatchObject({ executor: 'nx-campaign:dry-run', options: { run: 'runs/s.yaml' } });
    expect(s.targets!.report).toMatchObject({ executor: 'nx-campaign:record', options: { run: 'runs/s.yaml', command: 'report' } });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^nx-campaign: runs\/s\.yaml is not loaded \(its run's targets fail until this is fixed\):\nruns\/s\.yaml:2 \(resume\): .*\n {2}fix: .*\nruns\/s\.yaml:3 \(bogus\): Unrecognized key: "bogus"\n {2}fix: /);
  });

  it('logs a mistake shared by several runs once, naming them all', async () => {
    writeFileSync(join(ws, 'runs/s.yaml'), 'pipelines: p\n');
    writeFileSync(join(ws, 'runs/t.yaml'), 'pipelines: p\n');
    writeFileSync(join(ws, 'pipelines/p/pipeline.yaml'), PIPELINE.replace('memory: 1G', 'memory: 1'));
    expect(await projectNames(['runs/s.yaml', 'runs/t.yaml'])).toEqual(['s', 't']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^nx-campaign: runs\/s\.yaml, runs\/t\.yaml are not loaded .*:\npipelines\/p\/pipeline\.yaml:6 \(stages\.a\.resources\.memory\): Memory "1" has no unit/);
  });

  it('reports a broken file on every call, and loads it once fixed', async () => {
    expect(await projectNames(['runs/s.yaml'])).toEqual(['s']);
    expect(await projectNames(['runs/s.yaml'])).toEqual(['s']);
    expect(warn).toHaveBeenCalledTimes(2);
    writeFileSync(join(ws, 'runs/s.yaml'), 'pipelines: p\n');
    expect(await projectNames(['runs/s.yaml'])).toEqual(['s', 's.a', 's.b', 's.c']);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('still fails on what is not a configuration mistake, keeping the other runs', async () => {
    writeFileSync(join(ws, 'runs/s.yaml'), 'pipelines: p\n');
    mkdirSync(join(workspaceDataDir(ws), 'nx-campaign'), { recursive: true });
    writeFileSync(join(workspaceDataDir(ws), 'nx-campaign/s'), 'not a folder'); // its run cache cannot be written
    const error = await create(['runs/r.yaml', 'runs/s.yaml']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateCreateNodesError);
    const { errors, partialResults } = error as AggregateCreateNodesError;
    expect(errors.map(([file]) => file)).toEqual(['runs/s.yaml']);
    expect(partialResults.map(([file]) => file)).toEqual(['runs/r.yaml']);
    expect(warn).not.toHaveBeenCalled();
  });
});
