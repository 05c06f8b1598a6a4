import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../../config/run';
import { fixture } from '../../testing/fixture';
import campaignGenerator from './generator';

const repo = resolve(__dirname, '../../../../..');

describe('nx g nx-campaign:campaign', () => {
  it('writes a TOML campaign of the chosen types that loads as written, with the shipped obsdb', () => {
    const tree = createTreeWithEmptyWorkspace();
    campaignGenerator(tree, { name: 'weekly', workflows: 'ml-mapmaking,pwv-tests,direction-tests,wafer-tests', deadline: '12h' });
    const text = tree.read('runs/weekly.toml', 'utf8')!;
    expect(text).toContain('[campaign.ml-null-tests.pwv-tests]');
    const root = fixture({ 'runs/weekly.toml': text });
    cpSync(join(repo, 'data/so'), join(root, 'data/so'), { recursive: true });
    const run = loadRun(root, 'runs/weekly.toml');
    expect(run.deadline).toBe(12 * 3600);
    expect(run.stages[0]).toBe('ml-mapmaking');
    expect(run.warnings).toEqual([]);
    expect(run.stages.filter((s) => s.startsWith('ml-null-tests.pwv-tests.'))).toEqual(['ml-null-tests.pwv-tests.pwv_high_split_1', 'ml-null-tests.pwv-tests.pwv_high_split_2', 'ml-null-tests.pwv-tests.pwv_low_split_1', 'ml-null-tests.pwv-tests.pwv_low_split_2']);
    // The shipped obsdb has rising, setting and (az exactly 180) middle scans.
    expect(run.stages.filter((s) => s.startsWith('ml-null-tests.direction-tests.'))).toHaveLength(6);
    expect(run.stages.filter((s) => s.startsWith('ml-null-tests.wafer-tests.'))).toEqual(['ws0', 'ws1', 'ws2'].flatMap((w) => [1, 2].map((k) => `ml-null-tests.wafer-tests.wafer_${w}_split_${k}`)));
  });

  it('asks for what a type cannot do without, and never overwrites', () => {
    const tree = createTreeWithEmptyWorkspace();
    expect(() => campaignGenerator(tree, { name: 'sims', workflows: 'sat-sims' })).toThrow(/sat-sims needs --schedule/);
    campaignGenerator(tree, { name: 'c' });
    expect(() => campaignGenerator(tree, { name: 'c' })).toThrow(/exists already/);
  });
});
