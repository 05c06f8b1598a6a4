import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsTree, flushChanges } from 'nx/src/generators/tree';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../../config/run';
import { fixture } from '../../testing/fixture';
import rubinCampaignGenerator from './generator';

describe('nx g nx-campaign:rubin-campaign', () => {
  it('writes a campaign of the pipeline\'s steps that loads, one group per band', () => {
    const root = fixture({ 'pipelines/drp.yaml': 'description: d\ntasks:\n  isr: lsst.ip.isr.IsrTask\n  jointcal: lsst.jointcal.JointcalTask\n  coadd: lsst.drp.tasks.assemble_coadd.CompareWarpAssembleCoaddTask\nsubsets:\n  processCcd: [isr]\n  step1: [isr]\n  step2: [jointcal]\n  step3: [coadd]\n' });
    mkdirSync(join(root, 'repo'));
    const tree = new FsTree(root, false);
    rubinCampaignGenerator(tree, { name: 'lv', pipeline: 'pipelines/drp.yaml', inputs: 'DECam/defaults', bands: 'g,r', output: 'u/me/lv' });
    flushChanges(root, tree.listChanges());
    const run = loadRun(root, 'runs/lv.yaml');
    expect(run.stages).toEqual(['step1_g', 'step1_r', 'step2_g', 'step2_r', 'step3_g', 'step3_r']);
    expect(run.dag.parents.get('step3_r')).toEqual(['step2_r']);
    expect(() => rubinCampaignGenerator(new FsTree(root, false), { name: 'lv', pipeline: 'pipelines/drp.yaml' })).toThrow('runs/lv.yaml exists already');
    writeFileSync(join(root, 'pipelines/none.yaml'), 'description: n\ntasks:\n  isr: lsst.ip.isr.IsrTask\n');
    expect(() => rubinCampaignGenerator(new FsTree(root, false), { name: 'x', pipeline: 'pipelines/none.yaml' })).toThrow(/declares no steps and no subsets named step/);
  });
});
