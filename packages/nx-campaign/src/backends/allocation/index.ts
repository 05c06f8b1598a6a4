/**
 * In-allocation mode: inside an `salloc` or `sbatch` allocation, each stage runs as an `srun`
 * job step on the nodes the plan gave it (the pilot-job case). The plan is made over the
 * allocation's own nodes, cores and memory; the engine starts a stage when its parents succeeded
 * and its planned nodes have its cores and memory free, most urgent (plan priority) first.
 */
import { CampaignError } from '../../format/errors';
import { slurmMemory } from '../../format/quantities';
import type { Attempt, Backend } from '../../engine/backend';
import type { StageInvocation } from '../../model/command';
import { nodeName } from '../../planning/heft';
import type { NodeClass, Site } from '../../sites/site';
import { processBackend, type Pool } from '../local';
import { exec as realExec, type Exec } from '../slurm/commands';

export interface AllocationNode {
  host: string;
  cores: number;
  memoryMB: number;
}

export interface Allocation {
  jobId: string;
  nodes: AllocationNode[];
}

const NOT_INSIDE = 'the allocation backend runs inside a SLURM allocation, and SLURM_JOB_ID is not set\n  fix: start nx under salloc (npx campaign quick-test <run> does), or from an sbatch script; or use --backend=slurm';

/** "16(x2),8" -> [16, 16, 8] (SLURM_JOB_CPUS_PER_NODE). */
export function expandCpusPerNode(value: string): number[] {
  return value.split(',').flatMap((part) => {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m) throw new CampaignError(`SLURM_JOB_CPUS_PER_NODE=${value}: cannot read "${part}"`);
    return Array<number>(Number(m[2] ?? 1)).fill(Number(m[1]));
  });
}

/**
 * The nodes, cores and memory of the allocation this process runs in, from SLURM's environment.
 * SLURM's M is MiB; taking it as our MB (10^6 bytes) understates memory by 5%, on the safe side.
 */
export async function readAllocation(env: NodeJS.ProcessEnv = process.env, run: Exec = realExec): Promise<Allocation> {
  const jobId = env.SLURM_JOB_ID;
  const nodeList = env.SLURM_JOB_NODELIST;
  const cpus = env.SLURM_JOB_CPUS_PER_NODE;
  if (!jobId) throw new CampaignError(NOT_INSIDE);
  if (!nodeList || !cpus) throw new CampaignError(`allocation ${jobId}: SLURM_JOB_NODELIST or SLURM_JOB_CPUS_PER_NODE is not set; is this a job step rather than the allocation's shell?`);
  const hostsOut = await run('scontrol', ['show', 'hostnames', nodeList]);
  if (hostsOut.code !== 0) throw new CampaignError(`scontrol show hostnames ${nodeList} failed: ${hostsOut.stderr.trim()}`);
  const hosts = hostsOut.stdout.split('\n').filter(Boolean);
  const cores = expandCpusPerNode(cpus);
  if (cores.length !== hosts.length) throw new CampaignError(`allocation ${jobId}: ${hosts.length} nodes in ${nodeList} but ${cores.length} in SLURM_JOB_CPUS_PER_NODE=${cpus}`);
  let memoryMB: (i: number) => number;
  if (env.SLURM_MEM_PER_NODE) memoryMB = () => Number(env.SLURM_MEM_PER_NODE);
  else if (env.SLURM_MEM_PER_CPU) memoryMB = (i) => Number(env.SLURM_MEM_PER_CPU) * cores[i];
  else {
    // No --mem asked: the job holds what its TRES say (often whole nodes).
    const job = await run('scontrol', ['show', 'job', '-o', jobId]);
    const mem = /\bTRES=\S*?\bmem=(\d+(?:\.\d+)?)([MGT])/.exec(job.stdout);
    if (!mem) throw new CampaignError(`allocation ${jobId}: cannot tell its memory (no SLURM_MEM_PER_NODE, SLURM_MEM_PER_CPU or TRES mem)\n  fix: ask for memory, e.g. salloc --mem=...`);
    const total = Number(mem[1]) * { M: 1, G: 1024, T: 1024 * 1024 }[mem[2] as 'M' | 'G' | 'T'];
    memoryMB = () => Math.floor(total / hosts.length);
  }
  return { jobId, nodes: hosts.map((host, i) => ({ host, cores: cores[i], memoryMB: memoryMB(i) })) };
}

/** The allocation as a site: one node class per distinct (cores, memory), and the planner's node names -> hosts. */
export function allocationSite(a: Allocation): { site: Site; hostOf: Map<string, string> } {
  const groups = new Map<string, AllocationNode[]>();
  for (const n of a.nodes) {
    const k = `${n.cores}/${n.memoryMB}`;
    groups.set(k, [...(groups.get(k) ?? []), n]);
  }
  const hostOf = new Map<string, string>();
  const nodeClasses: NodeClass[] = [...groups.values()].map((nodes) => {
    const cls: NodeClass = { name: nodes[0].host, count: nodes.length, coresPerNode: nodes[0].cores, memoryMBPerNode: nodes[0].memoryMB, speed: 1 };
    nodes.forEach((n, i) => hostOf.set(nodeName(cls, i), n.host));
    return cls;
  });
  return { site: { name: `allocation ${a.jobId}`, backend: 'slurm', nodeClasses, qos: [] }, hostOf };
}

/** The command of an attempt as an srun job step on `hosts`, sized as the attempt holds. */
export function srunInvocation(a: Attempt, hosts: string[]): StageInvocation {
  const r = a.run.dag.stages.get(a.stage)!.resources;
  const step = [
    'srun',
    `--job-name=${a.run.name}.${a.stage}`,
    `--nodes=${hosts.length}`,
    `--nodelist=${hosts.join(',')}`,
    `--ntasks=${r.ranks}`,
    `--cpus-per-task=${r.threads}`,
    `--mem=${slurmMemory(a.size.memoryMBPerNode)}`,
    '--exact',
    '--kill-on-bad-exit=1',
    '--',
  ];
  return { ...a.inv, argv: [...step, ...a.inv.argv] };
}

/** Per-host cores and memory; an attempt takes its planned hosts (an equal share of its cores, its memory on each) or waits for them. */
function hostPool(a: Allocation, hostsOf: (a: Attempt) => string[]): Pool {
  const free = new Map(a.nodes.map((n) => [n.host, { cores: n.cores, memoryMB: n.memoryMB }]));
  const take = (at: Attempt, sign: 1 | -1) => {
    const hosts = hostsOf(at);
    for (const h of hosts) {
      free.get(h)!.cores -= (sign * at.size.cores) / hosts.length;
      free.get(h)!.memoryMB -= sign * at.size.memoryMBPerNode;
    }
  };
  return {
    claim(at) {
      const hosts = hostsOf(at);
      if (!hosts.every((h) => free.get(h)!.cores >= at.size.cores / hosts.length && free.get(h)!.memoryMB >= at.size.memoryMBPerNode)) return false;
      take(at, 1);
      return true;
    },
    release: (at) => take(at, -1),
  };
}

/**
 * The allocation this process runs in as a backend: stages planned over its nodes, each run as
 * an srun step where the plan put it.
 */
export async function allocationBackend(opts: { print: (line: string) => void; signal?: AbortSignal; exec?: Exec; env?: NodeJS.ProcessEnv }): Promise<Backend> {
  const allocation = await readAllocation(opts.env, opts.exec);
  const { site, hostOf } = allocationSite(allocation);
  const hostsOf = (a: Attempt) => a.plan!.nodes.map((n) => hostOf.get(n)!);
  opts.print(`allocation ${allocation.jobId}: ${allocation.nodes.map((n) => `${n.host} (${n.cores} cores)`).join(', ')}`);
  return processBackend({
    name: 'allocation',
    pool: hostPool(allocation, hostsOf),
    hosts: hostsOf,
    largestNodeMB: Math.max(...allocation.nodes.map((n) => n.memoryMB)),
    launch: (a) => srunInvocation(a, hostsOf(a)),
    planSite: { site, siteFrom: `SLURM allocation ${allocation.jobId}` },
    print: opts.print,
    signal: opts.signal,
  });
}
