import { join, posix } from 'node:path';
import { readSourceFile } from '../format/source-file';
import type { YamlFile } from '../format/yaml-file';
import { formatProblem } from '../format/errors';
import { formatDuration, formatMemory } from '../format/quantities';
import { absolutePath, shellLine, stageInvocation, type ResolvedCheck } from '../model/command';
import type { Run } from '../model/run';
import { loadRunArgument } from './run-argument';

export interface DryRunOutput {
  stdout: string;
  /** Warnings: kept off stdout so that `--json` prints JSON alone. */
  stderr: string;
}

/**
 * `campaign dry-run <file>` and the `dry-run` target: every stage of a run as it would
 * execute (command, folder, environment, resources), as text or JSON. `file` is what
 * `campaign plan` takes (a run file, a TOML campaign or a pipeline file), relative to `cwd`.
 */
export function dryRun(cwd: string, file: string, options: { json?: boolean } = {}): DryRunOutput {
  const { wsRoot, run } = loadRunArgument(cwd, file);
  const stderr = run.warnings.map((w) => `warning: ${formatProblem(w)}\n`).join('');
  return { stdout: options.json ? `${JSON.stringify(dryRunJson(wsRoot, run), null, 2)}\n` : dryRunText(wsRoot, run), stderr };
}

/** The stages as they would execute; paths absolute. */
export function dryRunJson(wsRoot: string, run: Run) {
  return {
    run: run.name,
    file: run.file,
    outputDir: absolutePath(wsRoot, run.outputDir),
    logDir: absolutePath(wsRoot, run.logDir),
    stages: run.stages.map((name) => {
      const inv = stageInvocation(wsRoot, run, name);
      const r = inv.stage.resources;
      return {
        name,
        argv: inv.argv,
        cwd: inv.cwd,
        env: inv.env,
        resources: { ranks: r.ranks, threads: r.threads, nodes: r.nodes ?? null, memoryMBPerNode: r.memoryMBPerNode, ...(r.memoryTotalMB !== undefined ? { memoryTotalMB: r.memoryTotalMB } : {}), runtimeSeconds: r.runtimeSeconds },
        inputs: inv.inputs,
        outputs: inv.outputs.map((o) => o.final),
        after: run.dag.parents.get(name)!,
        log: inv.logFile,
        ...(inv.stage.given ? { given: inv.stage.given } : {}),
        ...(inv.checks.before.length || inv.checks.after.length ? { checks: inv.checks } : {}),
      };
    }),
  };
}

function describeCheck(c: ResolvedCheck): string {
  if (c.kind === 'command') return `${c.what}: ${shellLine(c.argv)}`;
  if (c.kind === 'accepted') return `step ${c.step} accepted (npx campaign accept)`;
  return `${c.collection} holds ${c.datasetTypes.join(', ')} (butler query-datasets)`;
}

function dryRunText(wsRoot: string, run: Run): string {
  const lines = [
    `run ${run.name} (${run.file}): ${run.stages.length} stage(s) from pipeline(s) ${run.pipelines.map((p) => p.name).join(', ')}`,
    `  outputs: ${run.outputDir}   logs: ${run.logDir}   resume: ${run.resume}`,
  ];
  if (run.preScript) lines.push(`  pre_script:  ${run.preScript}`);
  if (run.postScript) lines.push(`  post_script: ${run.postScript}`);
  const files = new Map<string, YamlFile>();
  const lineOf = ({ file, key }: { file: string; key: (string | number)[] }) => {
    if (!files.has(file)) files.set(file, readSourceFile(join(wsRoot, file), file));
    return files.get(file)!.lineOf(key);
  };
  run.stages.forEach((name, i) => {
    const inv = stageInvocation(wsRoot, run, name);
    const r = inv.stage.resources;
    const parents = run.dag.parents.get(name)!;
    lines.push(
      '',
      `[${i + 1}/${run.stages.length}] ${name}   (${inv.stage.source.file}:${lineOf(inv.stage.source) ?? ''})`,
      `  command:   ${shellLine(inv.argv)}`,
      `  cwd:       ${inv.cwd}`,
      `  env:       ${Object.entries(inv.env).map(([k, v]) => shellLine([`${k}=${v}`])).join(' ')}`,
      `  resources: ${r.ranks} rank(s) x ${r.threads} thread(s) = ${r.ranks * r.threads} core(s), ${formatMemory(r.memoryMBPerNode)}, ${formatDuration(r.runtimeSeconds)}${r.nodes ? `, ${r.nodes} node(s)` : ''}`,
      `  after:     ${parents.length ? parents.join(', ') : '(nothing)'}`,
      `  log:       ${inv.logFile}`,
    );
    if (inv.outputs.length) lines.push(`  writes:    ${inv.outputs.map((o) => posix.relative(inv.cwd, o.final)).join(', ')}`);
    for (const c of inv.checks.before) lines.push(`  before:    ${describeCheck(c)}`);
    for (const c of inv.checks.after) lines.push(`  checks:    ${describeCheck(c)}`);
  });
  return `${lines.join('\n')}\n`;
}
