import type { Backend } from '../model/run';
import type { RetrySettings } from '../format/retries';

/** A kind of node; a site has one or more. */
export interface NodeClass {
  name: string;
  count: number;
  coresPerNode: number;
  memoryMBPerNode: number;
  /** Relative speed: a task of runtime r takes r / speed seconds here. 1 = reference. */
  speed: number;
}

/** A SLURM quality of service: the limits a job submitted under it must respect. */
export interface Qos {
  name: string;
  /** Longest walltime a job may ask for; Infinity = no limit. */
  maxWalltimeSeconds: number;
  /** Jobs of one user running at once; Infinity = no limit. */
  maxJobs: number;
  /** Cores one user may hold at once; Infinity = no limit. */
  maxCores: number;
}

/** Where a campaign runs: its nodes, and the queues work is submitted to. */
export interface Site {
  name: string;
  backend: Backend;
  /** The first class is the one a capped allocation (`requested_resources`, `nodes`) is made of. */
  nodeClasses: NodeClass[];
  qos: Qos[];
  partition?: string;
  account?: string;
  /** Retry policy for every run on the site (a run's own `retries:` wins). */
  retries?: RetrySettings;
}

export const UNLIMITED = Number.POSITIVE_INFINITY;

export function totalCores(site: Site): number {
  return site.nodeClasses.reduce((n, c) => n + c.count * c.coresPerNode, 0);
}

export function totalNodes(site: Site): number {
  return site.nodeClasses.reduce((n, c) => n + c.count, 0);
}

/** What a run or campaign block asks for: cores (socm's `requested_resources`) or nodes. */
export interface AllocationCap {
  cores?: number;
  nodes?: number;
}

export interface CappedSite {
  site: Site;
  /** Set when the cap asked for more than the site has, and was reduced to the whole class. */
  clampedFrom?: number;
}

/**
 * The part of a site one allocation holds: ceil(cores / cores per node) nodes (or `nodes`)
 * of its first node class. Without a cap, the whole site.
 */
export function capSite(site: Site, cap: AllocationCap): CappedSite {
  if (cap.cores === undefined && cap.nodes === undefined) return { site };
  const cls = site.nodeClasses[0];
  const wanted = cap.nodes ?? Math.ceil(cap.cores! / cls.coresPerNode);
  const count = Math.min(wanted, cls.count);
  return {
    site: { ...site, nodeClasses: [{ ...cls, count }] },
    clampedFrom: wanted > cls.count ? wanted : undefined,
  };
}

/**
 * The QoS a stage is submitted under: the one with the smallest limits (shortest walltime,
 * then fewest cores) that still admits its walltime and cores. The deadline plays no part:
 * a QoS with a longer limit does not make a stage finish sooner.
 */
export function chooseQos(site: Site, walltimeSeconds: number, cores: number): Qos | undefined {
  return [...site.qos]
    .sort((a, b) => a.maxWalltimeSeconds - b.maxWalltimeSeconds || a.maxCores - b.maxCores)
    .find((q) => q.maxWalltimeSeconds >= walltimeSeconds && q.maxCores >= cores);
}
