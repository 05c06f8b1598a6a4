/**
 * The planner's view of a campaign: tasks with resource needs and dependencies, and a
 * cluster of node classes. Plain data: no stage model, no Nx, no site files.
 */


export interface PlanTask {
  id: string;
  /** MPI ranks and threads per rank: the task needs ranks x threads cores. */
  ranks: number;
  threads: number;
  /** Memory needed on each node the task occupies, MB. */
  memoryMBPerNode: number;
  /**
   * Memory over all its nodes together, MB (socm's meaning): when set, the task takes at least
   * ceil(total / node memory) nodes and holds total / nodes on each; `memoryMBPerNode` is ignored.
   */
  memoryMBTotal?: number;
  /** Estimated runtime on a speed-1 node, seconds. */
  runtimeSeconds: number;
  /** Nodes asked for explicitly (ceci `nodes`); otherwise the fewest that hold its ranks. */
  nodes?: number;
  /** Ids of tasks that must finish before it starts. */
  deps: string[];
}

export interface Placement {
  id: string;
  /** Node ids, `<class>-<index>` (e.g. `tiger3-017`), one per node it occupies. */
  nodes: string[];
  /** Cores and memory it holds on each of its nodes, for its whole interval. */
  coresPerNode: number;
  memoryMBPerNode: number;
  /** Seconds from the campaign start. */
  start: number;
  end: number;
  /** HEFT upward rank, seconds: the work left from this task's start to the end. */
  rank: number;
}

export interface Plan {
  placements: Placement[];
  makespan: number;
  /** max(critical path, core-time / cores, memory-time / memory, longest task), seconds. */
  lowerBound: number;
  /** The chain of placements that ends last, first to last. */
  criticalPath: string[];
}
