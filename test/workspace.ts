import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..');

/** A throw-away copy of this workspace's pipelines, runs and data, sharing its node_modules. */
export function copyWorkspace(extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-e2e-'));
  for (const entry of ['package.json', 'nx.json', 'pipelines', 'runs', 'data', ...extra]) {
    cpSync(join(repoRoot, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

export function removeWorkspace(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: undefined, CI: 'true' };

/** Run the workspace's nx; returns exit code and combined output. */
export function nx(dir: string, args: string[]): SpawnSyncReturns<string> & { out: string } {
  const r = spawnSync(join(repoRoot, 'node_modules', '.bin', 'nx'), [...args], { cwd: dir, encoding: 'utf8', env: nxEnv });
  return Object.assign(r, { out: `${r.stdout}${r.stderr}` });
}

/** Stages nx ran (not restored from its cache) in a static-output log. */
export function executedStages(out: string): string[] {
  return [...out.matchAll(/^> nx run ([^:\s]+):stage(?!.*(?:existing outputs match the cache|local cache|remote cache))/gm)].map((m) => m[1]).sort();
}
