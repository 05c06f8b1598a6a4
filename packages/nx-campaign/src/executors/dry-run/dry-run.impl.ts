import type { ExecutorContext } from '@nx/devkit';
import { dryRun } from '../../commands/dry-run';
import { printed } from '../command-output';

export default async function dryRunExecutor(options: { run: string; json?: boolean }, context: ExecutorContext): Promise<{ success: boolean }> {
  return printed(async () => dryRun(context.root, options.run, { json: options.json }));
}
