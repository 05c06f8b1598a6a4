import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CampaignError } from '../format/errors';

/** The nearest folder at or above `from` that holds nx.json, if any. */
export function workspaceRootAbove(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The nearest folder at or above `from` that holds nx.json. */
export function findWorkspaceRoot(from: string): string {
  const root = workspaceRootAbove(from);
  if (!root) throw new CampaignError(`no nx.json in ${from} or above: run this inside an Nx workspace`);
  return root;
}
