import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { loadSites } from '../../sites/load';
import { fixture } from '../../testing/fixture';
import siteGenerator from './generator';

describe('nx g nx-campaign:site', () => {
  it('adds a site to sites.yaml, keeping what is there, and the plugin reads it', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('sites.yaml', '# our clusters\nsites:\n  della:\n    partition: cpu\n    node_classes: [{name: della, count: 10, cores: 32, memory: 190G}]\n');
    siteGenerator(tree, { name: 'stellar', nodes: 4, cores: 96, memory: '768G', partition: 'pu', account: 'astro', qos: 'debug:30m,normal:2d' });
    const text = tree.read('sites.yaml', 'utf8')!;
    expect(text).toMatch(/^# our clusters\n/);
    const stellar = loadSites(fixture({ 'sites.yaml': text })).find((s) => s.name === 'stellar')!;
    expect(stellar).toMatchObject({ backend: 'slurm', partition: 'pu', account: 'astro', nodeClasses: [{ name: 'stellar', count: 4, coresPerNode: 96, memoryMBPerNode: 768_000 }] });
    expect(stellar.qos.map((q) => [q.name, q.maxWalltimeSeconds])).toEqual([['debug', 1800], ['normal', 172_800]]);
    expect(loadSites(fixture({ 'sites.yaml': text })).find((s) => s.name === 'della')).toBeDefined();
  });

  it('refuses a bare memory size and an existing name', () => {
    const tree = createTreeWithEmptyWorkspace();
    expect(() => siteGenerator(tree, { name: 'x', nodes: 1, cores: 1, memory: '256' })).toThrow(/--memory: memory "256" has no unit/);
    siteGenerator(tree, { name: 'x', nodes: 1, cores: 1, memory: '1G' });
    expect(() => siteGenerator(tree, { name: 'x', nodes: 1, cores: 1, memory: '1G' })).toThrow(/has a site x already/);
  });
});
