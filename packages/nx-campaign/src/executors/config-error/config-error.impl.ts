import type { ExecutorContext } from '@nx/devkit';
import { CampaignError } from '../../format/errors';
import { loadRun } from '../../config/run';

/** The `run` and `stage` targets of a run whose file does not load: print why, and fail. */
export default async function configErrorExecutor(options: { run: string }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    loadRun(context.root, options.run);
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return { success: false };
  }
  process.stderr.write(`${options.run} loads now; the project graph is older: run the command again\n`);
  return { success: false };
}
