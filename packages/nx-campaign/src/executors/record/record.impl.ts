import type { ExecutorContext } from '@nx/devkit';
import { cancel, clean, logs, report, retry } from '../../commands/record-commands';
import { CampaignError } from '../../format/errors';
import { printed } from '../command-output';

export interface RecordExecutorOptions {
  run: string;
  command: 'report' | 'logs' | 'cancel' | 'retry' | 'clean';
  stage?: string;
  attempt?: number;
  json?: boolean;
  diff?: boolean;
  yes?: boolean;
}

/** The record's commands as targets of a run: the same as `campaign <command> <run>`. */
export default async function recordExecutor(o: RecordExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return printed(async () => {
    switch (o.command) {
      case 'report':
        return { stdout: report(context.root, o.run, { json: o.json, diff: o.diff }) };
      case 'logs':
        if (!o.stage) throw new CampaignError(`logs needs the stage: nx run ${context.projectName}:logs --stage=<stage>`);
        return { stdout: logs(context.root, o.run, o.stage, o.attempt) };
      case 'cancel':
        return { stdout: await cancel(context.root, o.run) };
      case 'retry':
        return { stdout: '', success: retry(context.root, o.run) === 0 };
      case 'clean':
        return { stdout: clean(context.root, o.run, { yes: o.yes }) };
    }
  });
}
