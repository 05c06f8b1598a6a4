import { isAbsolute, join, posix, resolve } from 'node:path';
import { type InputSource } from './run';
import type { Run } from './run';
import type { Stage, StageCheck } from './stage';

/** A check with its command's workspace paths made absolute. */
export type ResolvedCheck = Exclude<StageCheck, { kind: 'command' }> | { kind: 'command'; what: string; argv: string[] };

/** Where the produced file at `path` lives while its stage runs. */
export function inProgressPath(path: string): string {
  return posix.join(posix.dirname(path), `inprogress_${posix.basename(path)}`);
}

export function absolutePath(wsRoot: string, path: string): string {
  return isAbsolute(path) ? path : resolve(wsRoot, path);
}

/** Everything needed to start a stage on any backend. */
export interface StageInvocation {
  stage: Stage;
  argv: string[];
  /** Absolute working directory: the run's output folder. */
  cwd: string;
  /** Absolute log file. */
  logFile: string;
  env: Record<string, string>;
  /**
   * Produced files, absolute. `viaArgument`: the command is given the in-progress path
   * and the file is renamed on success; otherwise the command writes `final` itself.
   */
  outputs: { final: string; inProgress: string; viaArgument: boolean }[];
  /** Consumed files, absolute. */
  inputs: string[];
  /** Written before it starts: absolute path -> content. */
  files: Record<string, string>;
  /** What the engine checks before submitting it and after it exited 0. */
  checks: { before: ResolvedCheck[]; after: ResolvedCheck[] };
}

/**
 * The command line of a stage. `workspacePath` turns workspace-relative paths into what
 * the command needs: absolute paths to run it, `{workspaceRoot}/...` to show it portably.
 */
export function renderArgv(run: Run, name: string, workspacePath: (p: string) => string): string[] {
  const stage = run.dag.stages.get(name)!;
  const sources = run.dag.sources.get(name)!;
  // Paths in the output folder are relative to it where the stage runs there, else from the workspace.
  const inOutputDir = (p: string) => (stage.cwd === undefined ? p : workspacePath(posix.join(run.outputDir, p)));
  const inputPath = (src: InputSource) => (src.kind === 'stage' ? inOutputDir(src.path) : workspacePath(src.path));
  const written = run.written ?? { outputDir: run.outputDir, inputs: run.inputs };
  // ceci's join: `<output_dir as written>/<name>`.
  const writtenOutput = (p: string) => `${written.outputDir.replace(/\/$/, '')}/${p}`;
  const writtenInput = (src: InputSource | undefined) => (!src ? 'None' : src.kind === 'stage' ? writtenOutput(src.path) : (written.inputs[src.tag] ?? src.path));
  const outputOf = new Map(stage.outputs.map((o) => [o.key, o.path]));
  return stage.argv.map((a) => {
    if (typeof a === 'string') return a;
    if ('file' in a) return a.prefix + workspacePath(a.file);
    if ('input' in a) return a.prefix + (a.asWritten ? writtenInput(sources.get(a.input)) : inputPath(sources.get(a.input)!));
    const path = outputOf.get(a.output) ?? a.output;
    return a.prefix + (a.asWritten ? writtenOutput(path) : inOutputDir(inProgressPath(path)));
  });
}

/** The folder a stage runs in: its own (socm base-path, ceci launch folder), else the run's output folder. */
export function stageCwd(run: Run, name: string): string {
  return run.dag.stages.get(name)!.cwd ?? run.outputDir;
}

export function stageInvocation(wsRoot: string, run: Run, name: string): StageInvocation {
  const stage = run.dag.stages.get(name)!;
  const sources = run.dag.sources.get(name)!;
  const outputDir = absolutePath(wsRoot, run.outputDir);
  const argv = renderArgv(run, name, (p) => absolutePath(wsRoot, p));
  return {
    stage,
    argv,
    cwd: absolutePath(wsRoot, stageCwd(run, name)),
    logFile: join(absolutePath(wsRoot, run.logDir), `${name}.log`),
    env: stageEnv(run, name, outputDir),
    outputs: stage.outputs.map((o) => ({
      final: join(outputDir, o.path),
      inProgress: join(outputDir, inProgressPath(o.path)),
      viaArgument: stage.argv.some((a) => typeof a !== 'string' && 'output' in a && a.output === o.key && !a.asWritten),
    })),
    inputs: [...sources.values()].map((src) => (src.kind === 'stage' ? join(outputDir, src.path) : absolutePath(wsRoot, src.path))),
    files: { ...stage.files, ...(stage.configFile ? { [stage.configFile.path]: stage.configFile.content } : {}) },
    checks: { before: (stage.checks?.before ?? []).map((c) => resolveCheck(wsRoot, c)), after: (stage.checks?.after ?? []).map((c) => resolveCheck(wsRoot, c)) },
  };
}

function resolveCheck(wsRoot: string, c: StageCheck): ResolvedCheck {
  if (c.kind !== 'command') return c;
  return { ...c, argv: c.argv.map((a) => (typeof a === 'string' ? a : a.prefix + absolutePath(wsRoot, a.file))) };
}

/** The command as this machine starts it: behind the stage's MPI launcher when it has more than one rank. */
export function localArgv(inv: StageInvocation): string[] {
  const { mpiLauncher, resources } = inv.stage;
  return mpiLauncher && resources.ranks > 1 ? [...mpiLauncher, String(resources.ranks), ...inv.argv] : inv.argv;
}

/** Environment additions of a stage: its own, plus what tells it where and how wide it runs. */
export function stageEnv(run: Run, name: string, outputDir: string): Record<string, string> {
  const stage = run.dag.stages.get(name)!;
  return {
    ...stage.env,
    ...(stage.pythonPath ? { PYTHONPATH: [...stage.pythonPath, ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(':') } : {}),
    OMP_NUM_THREADS: String(stage.resources.threads),
    NX_CAMPAIGN_RUN: run.name,
    NX_CAMPAIGN_STAGE: name,
    NX_CAMPAIGN_OUTPUT_DIR: outputDir,
  };
}

/** A word as POSIX sh reads it back unchanged: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command as a shell would need it, every word quoted where needed. */
export function shellLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
