import { describe, expect, it } from 'vitest';
import { footprint, lowerBound } from './lower-bound';
import type { PlanTask } from './types';
import { type NodeClass } from '../sites/site';

const task = (id: string, o: Partial<PlanTask> = {}): PlanTask => ({ id, ranks: 1, threads: 1, memoryMBPerNode: 0, runtimeSeconds: 10, deps: [], ...o });
const site = (o: Partial<NodeClass> = {}): NodeClass => ({ name: 'n', count: 2, coresPerNode: 8, memoryMBPerNode: 1000, speed: 1, ...o });

describe('footprint', () => {
  const tiger = site({ name: 'tiger3', count: 492, coresPerNode: 112, memoryMBPerNode: 1_000_000 });
  it.each([
    [{ ranks: 14, threads: 8 }, { nodes: 1, coresPerNode: 112, memoryMBPerNode: 0 }],
    [{ ranks: 17, threads: 4 }, { nodes: 1, coresPerNode: 68, memoryMBPerNode: 0 }],
    [{ ranks: 30, threads: 4 }, { nodes: 2, coresPerNode: 60, memoryMBPerNode: 0 }],
    [{ ranks: 30, threads: 4, nodes: 3 }, { nodes: 3, coresPerNode: 40, memoryMBPerNode: 0 }],
    [{ ranks: 1, threads: 112 }, { nodes: 1, coresPerNode: 112, memoryMBPerNode: 0 }],
    // socm's total memory: divided over the nodes the ranks span, or more nodes when it needs them.
    [{ ranks: 70, threads: 8, memoryMBTotal: 4_800_000 }, { nodes: 5, coresPerNode: 112, memoryMBPerNode: 960_000 }],
    [{ ranks: 4, threads: 8, memoryMBTotal: 2_500_000 }, { nodes: 3, coresPerNode: 16, memoryMBPerNode: 833_334 }],
    [{ ranks: 4, threads: 8, nodes: 2, memoryMBTotal: 1_500_000 }, { nodes: 2, coresPerNode: 16, memoryMBPerNode: 750_000 }],
  ])('%o -> %o', (needs, expected) => expect(footprint(task('t', needs), tiger)).toEqual(expected));

  it.each([
    ['threads above the cores of a node', { threads: 113 }],
    ['memory above a node', { memoryMBPerNode: 1_000_001 }],
    ['ranks per node above what fits', { ranks: 60, threads: 4, nodes: 2 }],
    ['more nodes than the class has', { ranks: 493, threads: 112 }],
    ['a total memory more nodes than its ranks can span', { ranks: 2, threads: 1, memoryMBTotal: 2_500_000 }],
    ['a total memory above its given nodes', { ranks: 4, threads: 1, nodes: 1, memoryMBTotal: 1_000_001 }],
  ])('does not fit: %s', (_, needs) => expect(footprint(task('t', needs), tiger)).toBeUndefined());
});

describe('lowerBound', () => {
  it('is the critical path when that dominates', () => {
    const tasks = [task('a'), task('b', { deps: ['a'] }), task('c', { deps: ['b'], runtimeSeconds: 5 })];
    expect(lowerBound(tasks, [site()])).toBe(25);
  });

  it('is core-time / cores when the nodes are the bottleneck', () => {
    // 6 whole-node tasks of 10 s on 2 nodes: at least 3 rounds.
    const tasks = Array.from({ length: 6 }, (_, i) => task(`t${i}`, { threads: 8 }));
    expect(lowerBound(tasks, [site()])).toBe(30);
  });

  it('is memory-time / memory, counting memory on every node a task holds', () => {
    // Each task holds 600 MB on each of 2 nodes for 10 s: 12,000 MB s of 2,000 MB -> 6 s each
    // (3 s if only one node's memory were counted; cores give 6.25 s in all).
    const tasks = Array.from({ length: 5 }, (_, i) => task(`t${i}`, { memoryMBPerNode: 600, nodes: 2, ranks: 2 }));
    expect(lowerBound(tasks, [site()])).toBe(30);
  });

  it('uses the best speed a task can run at, and only classes it fits', () => {
    const classes = [site({ name: 'slow', speed: 1 }), site({ name: 'fast', speed: 4, coresPerNode: 4 }), site({ name: 'fastest', speed: 10, memoryMBPerNode: 10 })];
    expect(lowerBound([task('a', { runtimeSeconds: 40, memoryMBPerNode: 100 })], classes)).toBe(10);
    expect(lowerBound([task('a', { runtimeSeconds: 40, memoryMBPerNode: 100, threads: 8 })], classes)).toBe(40);
  });

  it('uses the estimate when one is given', () => {
    expect(lowerBound([task('a')], [site()], { estimate: () => 123 })).toBe(123);
  });

  it('is 0 for no tasks, and names a task that fits nowhere', () => {
    expect(lowerBound([], [site()])).toBe(0);
    expect(() => lowerBound([task('huge', { threads: 9 })], [site()])).toThrow(/"huge".*8 cores and 1000 MB/);
  });
});
