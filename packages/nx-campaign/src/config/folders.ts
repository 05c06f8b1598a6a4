import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { load } from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import { runNameOf, type Run } from '../model/run';
import type { Problem } from '../format/errors';
import { readSourceFile } from '../format/source-file';
import type { YamlFile } from '../format/yaml-file';

/**
 * A run's output or log folder holds only what the run writes, and clean and re-runs delete
 * there: never the workspace root itself, nor a folder holding one of the run's inputs, nor one
 * holding the files that define it (`definition`: its run file, pipelines, scripts, configs).
 */
export function folderProblem(y: YamlFile, key: 'output_dir' | 'log_dir', folder: string, inputs: Record<string, string>, definition: string[] = []): Problem[] {
  const at = () => ({ file: y.file, line: y.lineOf([key]), key }); // looked up only for a problem
  const fix = `give the run a folder of its own, e.g. ${key === 'output_dir' ? 'results/{run}/outputs' : 'results/{run}/logs'}`;
  const dir = posix.normalize(folder).replace(/\/$/, '');
  if (dir === '.' || dir === '') return [{ ...at(), message: `${key} "${folder}" is the workspace root: the run would write and delete among the workspace's own files`, fix }];
  const inside = (path: string) => {
    const rel = posix.relative(dir, posix.normalize(path));
    return rel !== '' && !rel.startsWith('..') && !posix.isAbsolute(rel);
  };
  const problems: Problem[] = Object.entries(inputs)
    .filter(([, path]) => inside(path))
    .map(([tag, path]) => ({ ...at(), message: `${key} "${folder}" holds the run's input ${tag} (${path}): the run would write, and clean delete, beside its own inputs`, fix }));
  const own = definition.find(inside);
  if (!problems.length && own) problems.push({ ...at(), message: `${key} "${folder}" holds ${own}, a file that defines the run: the run would write, and clean delete, among its own definition`, fix });
  return problems;
}

/**
 * Runs whose output or log folders are the same or one inside another (they would overwrite,
 * damage and clean each other's files): for each such run file, a problem at each folder key
 * naming the runs it collides with.
 */
export function sharedFolderProblems(wsRoot: string, runs: RunFolders[]): Map<string, Problem[]> {
  const folders = runs.flatMap((run) => (['output_dir', 'log_dir'] as const).map((key) => ({ run, key, dir: resolve(wsRoot, key === 'output_dir' ? run.outputDir : run.logDir) })));
  const within = (a: string, b: string) => {
    const rel = relative(b, a);
    return !rel.startsWith('..') && !isAbsolute(rel);
  };
  const out = new Map<string, Problem[]>();
  for (const a of folders) {
    const others = folders.filter((b) => b.run !== a.run && (within(a.dir, b.dir) || within(b.dir, a.dir)));
    if (!others.length) continue;
    const keys = new Map<string, string[]>();
    for (const b of others) keys.set(b.run.file, [...(keys.get(b.run.file) ?? []), b.key]);
    const listed = [...keys].slice(0, 4).map(([file, ks]) => `${ks.join(' and ')} of ${file}`);
    const named = listed.join(', ') + (keys.size > 4 ? ` and folders of ${keys.size - 4} more runs` : '');
    const lineOf = readSourceFile(join(wsRoot, a.run.file), a.run.file).lineOf;
    const problems = out.get(a.run.file) ?? [];
    problems.push({ file: a.run.file, line: lineOf(a.run.file.endsWith('.toml') ? ['campaign', a.key] : [a.key]), key: a.key, message: `${a.key} ${relative(wsRoot, a.dir) || '.'} is also ${named}, or holds it, or is in it: the runs would overwrite and clean each other's files`, fix: `give each run folders of its own (the default is results/{run}/outputs and results/{run}/logs)` });
    out.set(a.run.file, problems);
  }
  return out;
}

type RunFolders = Pick<Run, 'file' | 'outputDir' | 'logDir'>;

/** Where run files live: this project's runs/, and lbg-pipelines' configs/runs/ (as the plugin's RUN_FILES). */
const RUN_DIRS = ['runs', 'configs/runs'];

/**
 * The folders each other run file of the workspace declares, read from its own keys without
 * loading its pipelines (a file that does not parse is left out: it is refused on its own).
 */
export function otherRunFolders(wsRoot: string, except: string): RunFolders[] {
  const out: RunFolders[] = [];
  for (const dir of RUN_DIRS) {
    let names: string[];
    try {
      names = readdirSync(join(wsRoot, dir));
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /\.(ya?ml|toml)$/.test(n))) {
      const file = `${dir}/${name}`;
      if (file === except) continue;
      try {
        const text = readFileSync(join(wsRoot, file), 'utf8');
        const data = (file.endsWith('.toml') ? (parseToml(text).campaign ?? {}) : load(text)) as Record<string, unknown>;
        const folder = (key: string) => (typeof data?.[key] === 'string' ? (data[key] as string) : `results/{run}/${key === 'output_dir' ? 'outputs' : 'logs'}`).replaceAll('{run}', runNameOf(file));
        out.push({ file, outputDir: folder('output_dir'), logDir: folder('log_dir') });
      } catch {
        // refused when it is loaded itself
      }
    }
  }
  return out;
}
