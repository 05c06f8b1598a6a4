import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The files a run's loading looked at, present or not: what the run cache must stat to
 * know it is still valid. Loading is synchronous, so one module-level set is enough.
 */
const consulted = new Set<string>();

export function noteFile(path: string): void {
  consulted.add(path);
}

export function existsInWorkspace(wsRoot: string, path: string): boolean {
  consulted.add(path);
  return existsSync(resolve(wsRoot, path));
}

export function consulting<T>(fn: () => T): { result: T; files: string[] } {
  consulted.clear();
  const result = fn();
  return { result, files: [...consulted] };
}
