import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../../config/run';
import { fixture, problemsOf } from '../../testing/fixture';
import workflowGenerator from './generator';

describe('nx g nx-campaign:workflow', () => {
  it('writes workflows/<name>.ts and its test, and refuses to overwrite', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await workflowGenerator(tree, { name: 'sat-calibration', description: 'Calibrate SAT detectors', command: 'calibrate' });
    const source = tree.read('workflows/sat-calibration.ts', 'utf8')!;
    expect(source).toContain("name: 'sat-calibration'");
    expect(source).toContain("'calibrate'");
    expect(tree.read('workflows/sat-calibration.spec.ts', 'utf8')).toContain("import workflow from './sat-calibration'");
    expect(() => workflowGenerator(tree, { name: 'sat-calibration' })).toThrow(/exists already/);
  });

  it('generates a type a campaign file can name at once, with no registration', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await workflowGenerator(tree, { name: 'my-sim' });
    const root = fixture({ 'runs/c.toml': '[campaign]\n[campaign.my-sim]\ninput = "file://data/in.txt"\noutput_dir = "out"\niterations = 3\n', 'workflows/my-sim.ts': tree.read('workflows/my-sim.ts', 'utf8')! });
    symlinkSync(resolve(__dirname, '../../../../../node_modules'), join(root, 'node_modules'));
    expect(loadRun(root, 'runs/c.toml').dag.stages.get('my-sim')!.argv).toEqual(['echo', join(root, 'data/in.txt'), '--iterations=3', `--out=${join(root, 'out')}`]);
    writeFileSync(join(root, 'runs/c.toml'), '[campaign]\n[campaign.my-sim]\ninput = "x"\n');
    expect(problemsOf(() => loadRun(root, 'runs/c.toml'))).toMatchObject([{ line: 2, key: 'campaign.my-sim.output_dir' }]);
  });
});
