import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import type { Tree } from '@nx/devkit';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../../config/run';
import { runLocally } from '../../backends/local';
import { stageInvocation } from '../../model/command';
import { fixture } from '../../testing/fixture';
import runGenerator from '../run/generator';
import stageGenerator from '../stage/generator';
import pipelineGenerator from './generator';

/** The tree's files on disk, for the real loader. */
function materialise(tree: Tree): string {
  const root = fixture({});
  for (const c of tree.listChanges()) {
    if (c.type === 'DELETE' || !c.content) continue;
    mkdirSync(dirname(join(root, c.path)), { recursive: true });
    writeFileSync(join(root, c.path), c.content);
  }
  return root;
}

describe('nx g nx-campaign:pipeline / :stage / :run', () => {
  it('a generated pipeline with an added stage and a run over it loads, wired through the declared files, and runs', async () => {
    const tree = createTreeWithEmptyWorkspace();
    pipelineGenerator(tree, { name: 'demo-pipe' });
    stageGenerator(tree, { name: 'summarize', pipeline: 'demo-pipe', inputs: 'result:txt', outputs: 'summary:txt', options: 'lines:int=3,verbose:bool' });
    runGenerator(tree, { name: 'demo-run', pipelines: 'demo-pipe' });
    expect(tree.read('pipelines/demo-pipe/demo_pipe_stages.yaml', 'utf8')).toContain('Summarize:');
    const root = materialise(tree);
    const run = loadRun(root, 'runs/demo-run.yaml');
    expect(run.stages).toEqual(['make', 'summarize']);
    expect(run.dag.parents.get('summarize')).toEqual(['make']);
    const inv = stageInvocation(root, run, 'summarize');
    expect(inv.argv.slice(1).map((a) => a.replace(root, '<ws>'))).toEqual(['-u', '<ws>/pipelines/demo-pipe/scripts/summarize.py', '--result=result.txt', '--summary=inprogress_summary.txt', '--lines=3', '--no-verbose']);
    // The scripts run as declared: make, then summarize on its output.
    for await (const r of runLocally([{ run, stages: run.stages, fingerprints: new Map(), reuseComplete: false }], { wsRoot: root, dataDir: join(root, '.nx/workspace-data'), print: () => undefined })) expect(r.result.status, r.result.message).toBe('success');
    expect(readFileSync(join(inv.cwd, 'summary.txt'), 'utf8')).toMatch(/^summarize: lines=3 .*verbose=False\nmake: message=hello/);
  });

  it('refuses what would overwrite or dangle', () => {
    const tree = createTreeWithEmptyWorkspace();
    pipelineGenerator(tree, { name: 'p' });
    expect(() => pipelineGenerator(tree, { name: 'p' })).toThrow(/exists already/);
    expect(() => stageGenerator(tree, { name: 'make', pipeline: 'p' })).toThrow(/has a stage make already/);
    expect(() => stageGenerator(tree, { name: 's', pipeline: 'nope' })).toThrow(/nx g nx-campaign:pipeline nope first/);
    expect(() => stageGenerator(tree, { name: 's', pipeline: 'p', options: 'n:double=1' })).toThrow(/use str, int, float or bool/);
    expect(() => runGenerator(tree, { name: 'r', pipelines: 'p,q' })).toThrow(/no pipelines\/q\/pipeline.yaml/);
  });
});
