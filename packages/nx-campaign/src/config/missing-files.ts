import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { absolutePath } from '../model/command';
import type { Run } from '../model/run';
import { noteFile } from '../util/consulted';
import type { Problem } from '../format/errors';
import { readSourceFile } from '../format/source-file';

/**
 * The stages (of `stages`, default all) whose files are not there: scripts and stage-type files,
 * the run inputs they read, and what else they read (a socm workflow's context, obsdb, area).
 * At load a warning (a campaign may be planned away from the cluster that has them), before
 * anything runs an error, so that a run does not fail half-way at its first stage that needs one.
 */
export function missingFiles(wsRoot: string, run: Run, stages: string[] = run.stages): Problem[] {
  const lineOf = new Map<string, (key: (string | number)[]) => number | undefined>();
  const problems: Problem[] = [];
  for (const name of stages) {
    const s = run.dag.stages.get(name)!;
    const inputs = s.inputs.flatMap((tag) => (run.inputs[tag] !== undefined ? [run.inputs[tag]] : []));
    const missing = [...new Set([...s.definitionFiles, ...inputs, ...(s.reads ?? [])])].filter((f) => {
      noteFile(f);
      return !existsSync(absolutePath(wsRoot, f));
    });
    if (!missing.length) continue;
    if (!lineOf.has(s.source.file)) {
      try {
        lineOf.set(s.source.file, readSourceFile(join(wsRoot, s.source.file), s.source.file).lineOf);
      } catch {
        lineOf.set(s.source.file, () => undefined);
      }
    }
    const shown = missing.map((f) => (isAbsolute(f) && !relative(wsRoot, f).startsWith('..') ? relative(wsRoot, f) : f));
    problems.push({ file: s.source.file, line: lineOf.get(s.source.file)!(s.source.key), key: name, message: `stage ${name}'s ${missing.length > 1 ? 'files' : 'file'} ${shown.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist`, fix: 'correct the path, or create the file' });
  }
  return problems;
}
