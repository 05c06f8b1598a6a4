import { dirname, posix, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../format/errors';
import { otherRunFolders, sharedFolderProblems } from '../config/folders';
import { loadRun } from '../config/run';
import type { Run } from '../model/run';
import { workspaceRootAbove } from './workspace';

/**
 * Where the file argument of `campaign plan` and `campaign dry-run` (absolute, or relative
 * to `cwd`) lies: in the workspace holding it; a file in no workspace, in the current one,
 * else in `cwd` (a socm DAG file needs no workspace around it). `file` is relative to `wsRoot`.
 */
export function resolveRunArgument(cwd: string, arg: string): { wsRoot: string; file: string } {
  const abs = resolve(cwd, arg);
  const wsRoot = workspaceRootAbove(dirname(abs)) ?? workspaceRootAbove(cwd) ?? cwd;
  return { wsRoot, file: posix.normalize(relative(wsRoot, abs).split(sep).join('/')) };
}

/** A run file, a TOML campaign, or a pipeline file (top-level `stages:`, e.g. a socm DAG YAML) as a one-pipeline run. */
export function loadRunArgument(cwd: string, arg: string): { wsRoot: string; run: Run } {
  const { wsRoot, file } = resolveRunArgument(cwd, arg);
  const run = loadRun(wsRoot, file);
  // As the plugin refuses two runs that share a folder, so do the commands given one of them.
  const shared = sharedFolderProblems(wsRoot, [run, ...otherRunFolders(wsRoot, run.file)]).get(run.file);
  if (shared) throw new ConfigError(shared);
  return { wsRoot, run };
}
