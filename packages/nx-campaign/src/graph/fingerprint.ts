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
  return new Map([...stageFingerprintParts(wsRoot, run)].map(([name, f]) => [name, f.fingerprint]));
}

/** What a stage's fingerprint is made of, as hashed; plus, not hashed, the size and mtime of each declared file (for `campaign why`). */
export interface FingerprintParts {
  argv: unknown;
  cwd?: string;
  mpi?: unknown;
  env: Record<string, string>;
  config: Record<string, unknown>;
  outputs: unknown;
  outputDir: string;
  /** [key, `path@size:mtime` for a run input, `stage:path` for a parent's output]. */
  sources: [string, string][];
  /** [file, sha256 of its contents]. */
  files: [string, string][];
  written: unknown;
  /** The parents' fingerprints, in order. */
  parents: (string | undefined)[];
  /** Not hashed: file -> `size:mtime`, to say how a changed file changed. */
  stamps?: Record<string, string>;
  /** Not hashed: the parents' names, beside their fingerprints. */
  parentNames?: string[];
}

export function stageFingerprintParts(wsRoot: string, run: Run): Map<string, { fingerprint: string; parts: FingerprintParts }> {
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
  const out = new Map<string, { fingerprint: string; parts: FingerprintParts }>();
  for (const name of run.dag.order) {
    const s = run.dag.stages.get(name)!;
    const sources = [...run.dag.sources.get(name)!.entries()].map(([key, src]): [string, string] => [key, src.kind === 'run-input' ? `${src.path}@${identity(src.path)}` : `${src.stage}:${src.path}`]);
    const parentNames = run.dag.parents.get(name)!;
    const hashed: FingerprintParts = {
      argv: s.argv,
      cwd: s.cwd,
      mpi: s.mpiLauncher,
      env: s.env,
      // ceci stages read their options from the stages config, not the command line.
      config: s.config,
      outputs: s.outputs,
      outputDir: run.outputDir,
      sources,
      files: s.definitionFiles.map((f): [string, string] => [f, contentHash(f)]),
      written: s.files,
      parents: parentNames.map((p) => out.get(p)?.fingerprint),
    };
    const fingerprint = sha256(JSON.stringify(hashed)).slice(0, 16);
    out.set(name, { fingerprint, parts: { ...hashed, stamps: Object.fromEntries(s.definitionFiles.map((f) => [f, identity(f)])), parentNames } });
  }
  return out;
}
