import { posix } from 'node:path';
import type { Problem } from './errors';
import type { YamlFile } from './yaml-file';

/**
 * A run's output or log folder holds only what the run writes, and clean and re-runs delete
 * there: never the workspace root itself, nor a folder holding one of the run's inputs.
 */
export function folderProblem(y: YamlFile, key: 'output_dir' | 'log_dir', folder: string, inputs: Record<string, string>): Problem[] {
  const at = { file: y.file, line: y.lineOf([key]), key };
  const dir = posix.normalize(folder).replace(/\/$/, '');
  if (dir === '.' || dir === '') return [{ ...at, message: `${key} "${folder}" is the workspace root: the run would write and delete among the workspace's own files`, fix: `give the run a folder of its own, e.g. ${key === 'output_dir' ? 'results/{run}/outputs' : 'results/{run}/logs'}` }];
  return Object.entries(inputs)
    .filter(([, path]) => {
      const rel = posix.relative(dir, posix.normalize(path));
      return rel !== '' && !rel.startsWith('..') && !posix.isAbsolute(rel);
    })
    .map(([tag, path]) => ({ ...at, message: `${key} "${folder}" holds the run's input ${tag} (${path}): the run would write, and clean delete, beside its own inputs`, fix: `give the run a folder of its own, e.g. ${key === 'output_dir' ? 'results/{run}/outputs' : 'results/{run}/logs'}` }));
}
