import type { ExecutorContext } from '@nx/devkit';
import { planCommand } from '../../commands/plan';
import { printed } from '../command-output';

export interface PlanExecutorOptions {
  run: string;
  site?: string;
  json?: boolean;
  svg?: string;
}

export default async function planExecutor(options: PlanExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return printed(async () => planCommand(context.root, options.run, { site: options.site, json: options.json, svg: options.svg }));
}
