import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Run } from '../model/run';
import { noteFile } from '../util/consulted';
import { absolutePath } from '../model/command';

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * What a stage's outputs depend on: its command (with paths kept workspace-relative,
 * so the value is the same in every clone), environment, declared files, the contents of
 * its script and stage-type file, the size and mtime of run inputs it reads, and the
 * fingerprints of its parents. Resources are left out: they change how a stage runs,
 * not what it produces.
 */
export function stageFingerprints(wsRoot: string, run: Run): Map<string, string> {
  const fileHashes = new Map<string, string>();
  const contentHash = (file: string) => {
    noteFile(file);
    let h = fileHashes.get(file);
    if (h === undefined) {
      try {
        h = sha256(readFileSync(absolutePath(wsRoot, file)));
      } catch {
        h = 'missing';
      }
      fileHashes.set(file, h);
    }
    return h;
  };
  const identity = (path: string) => {
    noteFile(path);
    try {
      const s = statSync(absolutePath(wsRoot, path));
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  };
  const out = new Map<string, string>();
  for (const name of run.dag.order) {
    const s = run.dag.stages.get(name)!;
    const sources = [...run.dag.sources.get(name)!.entries()].map(([key, src]) => [key, src.kind === 'run-input' ? `${src.path}@${identity(src.path)}` : `${src.stage}:${src.path}`]);
    out.set(
      name,
      sha256(
        JSON.stringify({
          argv: s.argv,
          cwd: s.cwd,
          mpi: s.mpiLauncher,
          env: s.env,
          // ceci stages read their options from the stages config, not the command line.
          config: s.config,
          outputs: s.outputs,
          outputDir: run.outputDir,
          sources,
          files: s.definitionFiles.map((f) => [f, contentHash(f)]),
          written: s.files,
          parents: run.dag.parents.get(name)!.map((p) => out.get(p)),
        }),
      ).slice(0, 16),
    );
  }
  return out;
}
