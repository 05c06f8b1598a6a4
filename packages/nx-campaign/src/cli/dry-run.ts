import { join, posix } from 'node:path';
import { readSourceFile } from '../config/source-file';
import type { YamlFile } from '../config/yaml-file';
import { formatProblem } from '../config/errors';
import { formatDuration, formatMemory } from '../config/quantities';
import { loadRun } from '../config/run';
import { shellLine, stageInvocation } from '../model/command';

/** Every stage of a run as it would execute: command, folder, environment, resources. */
export function dryRun(wsRoot: string, runFile: string): string {
  const run = loadRun(wsRoot, posix.normalize(runFile));
  const lines: string[] = [];
  for (const w of run.warnings) lines.push(`warning: ${formatProblem(w)}`);
  lines.push(
    `run ${run.name} (${run.file}): ${run.stages.length} stage(s) from pipeline(s) ${run.pipelines.map((p) => p.name).join(', ')}`,
    `  outputs: ${run.outputDir}   logs: ${run.logDir}   resume: ${run.resume}`,
  );
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
      `  resources: ${r.ranks} rank(s) x ${r.threads} thread(s) = ${r.ranks * r.threads} core(s), ${formatMemory(r.memoryMB)}, ${formatDuration(r.runtimeSeconds)}${r.nodes ? `, ${r.nodes} node(s)` : ''}`,
      `  after:     ${parents.length ? parents.join(', ') : '(nothing)'}`,
      `  log:       ${inv.logFile}`,
    );
    if (inv.outputs.length) lines.push(`  writes:    ${inv.outputs.map((o) => posix.relative(inv.cwd, o.final)).join(', ')}`);
  });
  return `${lines.join('\n')}\n`;
}
