import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import type { Run } from '../model/run';
import type { Problem } from './errors';
import { readSourceFile } from './source-file';
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

/**
 * Runs whose output or log folders are the same or one inside another (they would overwrite,
 * damage and clean each other's files): for each such run file, a problem at each folder key
 * naming the other run.
 */
export function sharedFolderProblems(wsRoot: string, runs: Run[]): Map<string, Problem[]> {
  const folders = runs.flatMap((run) => (['output_dir', 'log_dir'] as const).map((key) => ({ run, key, dir: resolve(wsRoot, key === 'output_dir' ? run.outputDir : run.logDir) })));
  const within = (a: string, b: string) => {
    const rel = relative(b, a);
    return !rel.startsWith('..') && !isAbsolute(rel);
  };
  const out = new Map<string, Problem[]>();
  for (const a of folders) {
    const other = folders.find((b) => b.run !== a.run && (within(a.dir, b.dir) || within(b.dir, a.dir)));
    if (!other) continue;
    const lineOf = readSourceFile(join(wsRoot, a.run.file), a.run.file).lineOf;
    const problems = out.get(a.run.file) ?? [];
    problems.push({ file: a.run.file, line: lineOf(a.run.file.endsWith('.toml') ? ['campaign', a.key] : [a.key]), key: a.key, message: `${a.key} ${relative(wsRoot, a.dir) || '.'} is also ${other.key} of ${other.run.file}, or holds it, or is in it: the two runs would overwrite and clean each other's files`, fix: `give each run folders of its own (the default is results/{run}/outputs and results/{run}/logs)` });
    out.set(a.run.file, problems);
  }
  return out;
}
