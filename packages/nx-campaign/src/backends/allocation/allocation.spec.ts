import { describe, expect, it } from 'vitest';
import { planHeft } from '../../planning/heft';
import { allocationSite, expandCpusPerNode, readAllocation } from '.';
import type { Exec } from '../slurm/commands';

/** scontrol as SLURM answers it for a three-node allocation. */
const scontrol: Exec = async (cmd, args) => {
  if (cmd === 'scontrol' && args[0] === 'show' && args[1] === 'hostnames' && args[2] === 'nid[001-002],big7') return { code: 0, stdout: 'nid001\nnid002\nbig7\n', stderr: '' };
  if (cmd === 'scontrol' && args.join(' ') === 'show job -o 42') return { code: 0, stdout: 'JobId=42 JobName=x TRES=cpu=320,mem=768G,node=3,billing=320 Socks/Node=*\n', stderr: '' };
  return { code: 1, stdout: '', stderr: `unexpected ${cmd} ${args.join(' ')}` };
};

describe('allocation', () => {
  it('expands SLURM_JOB_CPUS_PER_NODE', () => {
    expect(expandCpusPerNode('16(x2),8')).toEqual([16, 16, 8]);
    expect(expandCpusPerNode('128')).toEqual([128]);
    expect(() => expandCpusPerNode('16(2)')).toThrow(/cannot read "16\(2\)"/);
  });

  it('reads nodes, cores and memory from the environment, else the job TRES', async () => {
    const env = { SLURM_JOB_ID: '42', SLURM_JOB_NODELIST: 'nid[001-002],big7', SLURM_JOB_CPUS_PER_NODE: '64(x2),192' };
    expect(await readAllocation({ ...env, SLURM_MEM_PER_NODE: '4000' }, scontrol)).toEqual({
      jobId: '42',
      nodes: [
        { host: 'nid001', cores: 64, memoryMB: 4000 },
        { host: 'nid002', cores: 64, memoryMB: 4000 },
        { host: 'big7', cores: 192, memoryMB: 4000 },
      ],
    });
    expect((await readAllocation({ ...env, SLURM_MEM_PER_CPU: '100' }, scontrol)).nodes.map((n) => n.memoryMB)).toEqual([6400, 6400, 19200]);
    expect((await readAllocation(env, scontrol)).nodes.map((n) => n.memoryMB)).toEqual([262144, 262144, 262144]);
    await expect(readAllocation({}, scontrol)).rejects.toThrow(/SLURM_JOB_ID is not set/);
  });

  it('maps the planner node names back to hosts, one class per node shape', () => {
    const { site, hostOf } = allocationSite({
      jobId: '42',
      nodes: [
        { host: 'nid001', cores: 64, memoryMB: 4000 },
        { host: 'big7', cores: 192, memoryMB: 8000 },
        { host: 'nid002', cores: 64, memoryMB: 4000 },
      ],
    });
    expect(site.nodeClasses.map((c) => [c.name, c.count, c.coresPerNode])).toEqual([['nid001', 2, 64], ['big7', 1, 192]]);
    // a task only the big node fits, and two that need both small ones
    const plan = planHeft(
      [
        { id: 'wide', ranks: 2, threads: 64, memoryMBPerNode: 1000, runtimeSeconds: 10, nodes: 2, deps: [] },
        { id: 'fat', ranks: 1, threads: 150, memoryMBPerNode: 1000, runtimeSeconds: 10, deps: [] },
      ],
      site.nodeClasses,
    );
    const hosts = Object.fromEntries(plan.placements.map((p) => [p.id, p.nodes.map((n) => hostOf.get(n)).sort()]));
    expect(hosts).toEqual({ wide: ['nid001', 'nid002'], fat: ['big7'] });
  });
});
