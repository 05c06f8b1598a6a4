import type { ExecutorContext } from '@nx/devkit';
import { dryRun } from '../../cli/dry-run';
import { CampaignError } from '../../config/errors';

export default async function dryRunExecutor(options: { run: string }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    process.stdout.write(dryRun(context.root, options.run));
    return { success: true };
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return { success: false };
  }
}
