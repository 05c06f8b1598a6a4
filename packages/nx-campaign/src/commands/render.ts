import { relative } from 'node:path';
import { CampaignError } from '../format/errors';
import { writeSubmitFile } from '../backends/bps/submit-file';
import { loadRunArgument } from './run-argument';

/**
 * `campaign render <campaign> [--step S]`: every BPS submit file of the campaign (of step S),
 * written where its group submits it from, without submitting. An edit made since the same
 * rendering is kept: it is what will be submitted, and the record keeps its diff.
 */
export function render(cwd: string, file: string, o: { step?: string } = {}): string {
  const { wsRoot, run } = loadRunArgument(cwd, file);
  const groups = run.stages.filter((s) => run.dag.stages.get(s)!.config.mode === 'bps' && (!o.step || run.dag.stages.get(s)!.config.step === o.step));
  if (!groups.length) {
    const steps = [...new Set(run.stages.map((s) => run.dag.stages.get(s)!.config.step).filter((s) => typeof s === 'string'))];
    if (!steps.length) throw new CampaignError(`${run.file} is not a Rubin campaign: it has no submit files`);
    if (o.step && !steps.includes(o.step)) throw new CampaignError(`${run.name} has no step ${o.step}; its steps: ${steps.join(', ')}`);
    return `${run.name}: no ${o.step ? `group of step ${o.step}` : 'step'} runs in bps mode (mode: bps); nothing to render\n`;
  }
  const lines = groups.map((g) => {
    const f = writeSubmitFile(wsRoot, run, g, { site: run.site ?? 'local', retries: run.retries?.count ?? 5 });
    const shown = relative(cwd, f.file);
    return `${f.note ? `${f.note}\n` : ''}${shown}${f.diff ? '  (edited: kept, to be submitted as edited)' : ''}`;
  });
  return `${lines.join('\n')}\n${groups.length} submit file(s); edit any before it is submitted (nx run-many -t stage --projects=tag:run:${run.name})\n`;
}
