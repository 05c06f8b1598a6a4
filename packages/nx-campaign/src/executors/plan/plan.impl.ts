import type { ExecutorContext } from '@nx/devkit';
import { planCommand } from '../../commands/plan';
import { CampaignError } from '../../format/errors';

export interface PlanExecutorOptions {
  run: string;
  site?: string;
  json?: boolean;
  svg?: string;
}

export default async function planExecutor(options: PlanExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const out = planCommand(context.root, options.run, { site: options.site, json: options.json, svg: options.svg });
    process.stderr.write(out.stderr);
    process.stdout.write(out.stdout);
    return { success: true };
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return { success: false };
  }
}
