import type { ExecutorContext } from '@nx/devkit';
import { dryRun } from '../../commands/dry-run';
import { CampaignError } from '../../format/errors';

export default async function dryRunExecutor(options: { run: string; json?: boolean }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const out = dryRun(context.root, options.run, { json: options.json });
    process.stderr.write(out.stderr);
    process.stdout.write(out.stdout);
    return { success: true };
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return { success: false };
  }
}
