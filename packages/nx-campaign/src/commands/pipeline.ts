import { resolve } from 'node:path';
import { formatProblem } from '../format/errors';
import { loadLsstPipeline, pipelineJson, splitPipelineUri } from '../config/lsst-pipeline';

export interface PipelineOutput {
  stdout: string;
  stderr: string;
}

/**
 * `campaign pipeline <file>[#expr] [--json]`: an LSST pipeline as pipe_base expands it (imports
 * resolved, parameters substituted, the expression applied): its tasks with class and config,
 * its subsets and steps. Like `pipetask build --show pipeline`; `--json` is what the stand-in
 * pipetask reads.
 */
export function pipelineCommand(cwd: string, uri: string, options: { json?: boolean } = {}): PipelineOutput {
  const p = loadLsstPipeline(uri, { cwd });
  const stderr = p.warnings.map((w) => `warning: ${formatProblem(w)}\n`).join('');
  if (options.json) return { stdout: `${JSON.stringify(pipelineJson(p, resolve(cwd, splitPipelineUri(uri).path)), null, 2)}\n`, stderr };
  const lines = [`${p.file}: ${p.description.trim().split('\n')[0]}`];
  if (p.instrument) lines.push(`instrument: ${p.instrument}`);
  lines.push(`tasks (${p.tasks.size}):`);
  const width = Math.max(...[...p.tasks.keys()].map((l) => l.length));
  for (const t of p.tasks.values()) {
    const fields = t.config.reduce((n, b) => n + Object.keys(b.rest).length + b.file.length + (b.python ? 1 : 0), 0);
    lines.push(`  ${t.label.padEnd(width)}  ${t.class}${fields ? `  (${fields} config override${fields > 1 ? 's' : ''})` : ''}`);
  }
  if (p.subsets.size) {
    lines.push(`subsets (${p.subsets.size}):`);
    for (const [name, s] of p.subsets) lines.push(`  ${name}: ${s.labels.join(', ')}`);
  }
  if (p.steps.length) lines.push(`steps: ${p.steps.map((s) => `${s.label} [${s.dimensions.join(', ')}]`).join(', ')}`);
  return { stdout: `${lines.join('\n')}\n`, stderr };
}
