import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../testing/fixture';
import { loadRunArgument, resolveRunArgument } from './run-argument';

const DAG = 'stages:\n  a: {executable: sh}\n';

describe('resolveRunArgument', () => {
  const dirs: string[] = [];
  const dir = (files: Record<string, string>) => {
    const d = fixture(files);
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finds a file relative to the current folder in the workspace holding it', () => {
    const ws = dir({ 'nx.json': '{}', 'runs/r.yaml': 'pipelines: p\n' });
    mkdirSync(join(ws, 'sub/deeper'), { recursive: true });
    expect(resolveRunArgument(join(ws, 'sub/deeper'), '../../runs/r.yaml')).toEqual({ wsRoot: ws, file: 'runs/r.yaml' });
    expect(resolveRunArgument(ws, './runs//r.yaml')).toEqual({ wsRoot: ws, file: 'runs/r.yaml' });
  });

  it("takes an absolute path into a workspace from outside it, or from another workspace", () => {
    const ws = dir({ 'nx.json': '{}', 'runs/r.yaml': 'pipelines: p\n' });
    const other = dir({ 'nx.json': '{}' });
    const outside = dir({});
    for (const cwd of [outside, other]) expect(resolveRunArgument(cwd, join(ws, 'runs/r.yaml'))).toEqual({ wsRoot: ws, file: 'runs/r.yaml' });
  });

  it('reads a file in no workspace from the current workspace, else from the current folder', () => {
    const lone = dir({ 'dag.yml': DAG });
    const ws = dir({ 'nx.json': '{}' });
    mkdirSync(join(ws, 'sub'));
    expect(resolveRunArgument(join(ws, 'sub'), join(lone, 'dag.yml'))).toEqual({ wsRoot: ws, file: `../${basename(lone)}/dag.yml` });
    expect(resolveRunArgument(lone, 'dag.yml')).toEqual({ wsRoot: lone, file: 'dag.yml' });
  });
});

describe('loadRunArgument', () => {
  let ws: string;
  afterEach(() => rmSync(ws, { recursive: true, force: true }));

  it('loads a pipeline file alone as a one-pipeline run, and a run file as a run', () => {
    ws = fixture({ 'nx.json': '{}', 'pipelines/p/pipeline.yaml': DAG, 'runs/r.yaml': 'pipelines: p\noutput_dir: out\n' });
    const alone = loadRunArgument(join(ws, 'pipelines'), 'p/pipeline.yaml').run;
    expect([alone.name, alone.file, alone.outputDir, alone.stages]).toEqual(['p', 'pipelines/p/pipeline.yaml', 'results/p/outputs', ['a']]);
    const run = loadRunArgument(ws, 'runs/r.yaml').run;
    expect([run.name, run.file, run.outputDir, run.stages]).toEqual(['r', 'runs/r.yaml', 'out', ['a']]);
  });
});
