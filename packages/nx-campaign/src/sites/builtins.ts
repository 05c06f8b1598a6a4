import { availableParallelism, totalmem } from 'node:os';
import { UNLIMITED, type Qos, type Site } from './site';

const MIN = 60;

function qos(name: string, maxWalltimeMinutes: number, maxJobs: number, maxCores: number): Qos {
  return { name, maxWalltimeSeconds: maxWalltimeMinutes * MIN, maxJobs, maxCores };
}

/** The sites socm knows (its `resources` module), with its node counts, cores and QoS limits. */
export const BUILTIN_SLURM_SITES: readonly Site[] = [
  {
    name: 'tiger3',
    backend: 'slurm',
    nodeClasses: [{ name: 'tiger3', count: 492, coresPerNode: 112, memoryMBPerNode: 1_000_000, speed: 1 }],
    qos: [qos('test', 60, 1, 8000), qos('vshort', 300, 2000, 55104), qos('short', 1440, 50, 8000), qos('medium', 4320, 80, 4000), qos('long', 8640, 16, 1000), qos('vlong', 21600, 8, 900)],
  },
  {
    name: 'perlmutter',
    backend: 'slurm',
    // socm gives no memory for perlmutter: 512 GB is NERSC's figure for a node of the CPU partition.
    nodeClasses: [{ name: 'perlmutter', count: 3072, coresPerNode: 128, memoryMBPerNode: 512_000, speed: 1 }],
    qos: [qos('regular', 2880, 5000, 393216), qos('interactive', 240, 2, 512), qos('shared_interactive', 240, 2, 64), qos('debug', 30, 5, 1024)],
  },
  {
    name: 'universe',
    backend: 'slurm',
    // socm gives no memory for universe: 1,000,000 MB per node is our assumption (tiger3's
    // figure). Override it in sites.yaml with the real one.
    nodeClasses: [{ name: 'universe', count: 28, coresPerNode: 224, memoryMBPerNode: 1_000_000, speed: 1 }],
    qos: [qos('main', 43200, 5000, 6272)],
  },
];

/** This machine: one node with its cores and memory, no queue limits. */
export function localSite(): Site {
  return {
    name: 'local',
    backend: 'local',
    nodeClasses: [{ name: 'local', count: 1, coresPerNode: availableParallelism(), memoryMBPerNode: Math.floor(totalmem() / 1e6), speed: 1 }],
    qos: [{ name: 'local', maxWalltimeSeconds: UNLIMITED, maxJobs: UNLIMITED, maxCores: UNLIMITED }],
  };
}

export function builtinSites(): Site[] {
  return [...BUILTIN_SLURM_SITES.map((s) => structuredClone(s)), localSite()];
}
