import type { StageResult } from '../../store/result';

/** One piece of work for the local scheduler. */
export interface Unit {
  id: string;
  /** How messages name it. */
  label: string;
  /** Units (by id, within the same schedule) that must succeed first. */
  deps: string[];
  cores: number;
  memoryMB: number;
  /** Higher starts first: the longest remaining path through the DAG. */
  priority: number;
  /** Its result; or `retry`: give back its room and queue it again, holding `memoryMB` from now on. */
  execute(): Promise<StageResult | Again>;
}

export interface Again {
  retry: { memoryMB: number };
}

export interface Capacity {
  cores: number;
  memoryMB: number;
}

/** Where units run: takes a unit's resources if they are free now, gives them back when it ends. */
export interface Pool {
  claim(u: Unit): boolean;
  release(u: Unit): void;
}

/** One machine's cores and memory, shared by all units. */
export function machinePool(capacity: Capacity): Pool {
  const free = { ...capacity };
  return {
    claim(u) {
      if (u.cores > free.cores || u.memoryMB > free.memoryMB) return false;
      free.cores -= u.cores;
      free.memoryMB -= u.memoryMB;
      return true;
    },
    release(u) {
      free.cores += u.cores;
      free.memoryMB += u.memoryMB;
    },
  };
}

/**
 * Run units as their dependencies succeed, as many at once as `pool` has room for, highest
 * priority first (a unit that does not fit yet lets smaller ones by).
 * A failure skips only its descendants; independent branches go on. Results stream out
 * in completion order.
 */
export async function* schedule(units: Unit[], pool: Pool): AsyncGenerator<{ id: string; result: StageResult }> {
  const byId = new Map(units.map((u) => [u.id, u]));
  const waitingOn = new Map(units.map((u) => [u.id, new Set(u.deps.filter((d) => byId.has(d)))]));
  const dependents = new Map<string, string[]>(units.map((u) => [u.id, []]));
  for (const u of units) for (const d of waitingOn.get(u.id)!) dependents.get(d)!.push(u.id);
  const ready = units.filter((u) => waitingOn.get(u.id)!.size === 0);
  const running = new Map<string, Promise<{ id: string; result: StageResult | Again }>>();
  const done = new Set<string>();

  const skipDescendants = function* (failed: string): Generator<{ id: string; result: StageResult }> {
    const message = `skipped: upstream stage ${byId.get(failed)!.label} failed`;
    const todo = [...dependents.get(failed)!];
    while (todo.length) {
      const id = todo.pop()!;
      if (done.has(id)) continue;
      done.add(id);
      waitingOn.delete(id);
      yield { id, result: { status: 'skipped', message, output: '' } };
      todo.push(...dependents.get(id)!);
    }
  };

  while (ready.length || running.size) {
    ready.sort((a, b) => b.priority - a.priority);
    for (let i = 0; i < ready.length; ) {
      const u = ready[i];
      if (pool.claim(u)) {
        ready.splice(i, 1);
        running.set(
          u.id,
          u.execute().then(
            (result) => ({ id: u.id, result }),
            (e: unknown) => ({ id: u.id, result: { status: 'failure' as const, message: `internal error: ${(e as Error).message}`, output: String((e as Error).stack) } }),
          ),
        );
      } else {
        i++;
      }
    }
    if (!running.size) break;
    const { id, result: outcome } = await Promise.race(running.values());
    running.delete(id);
    const u = byId.get(id)!;
    pool.release(u);
    if ('retry' in outcome) {
      u.memoryMB = outcome.retry.memoryMB;
      ready.push(u);
      continue;
    }
    const result = outcome;
    done.add(id);
    yield { id, result };
    if (result.status === 'success') {
      for (const d of dependents.get(id)!) {
        const w = waitingOn.get(d);
        if (!w) continue;
        w.delete(id);
        if (w.size === 0 && !done.has(d)) ready.push(byId.get(d)!);
      }
    } else {
      yield* skipDescendants(id);
    }
  }
}
