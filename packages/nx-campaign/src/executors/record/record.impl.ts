import type { ExecutorContext } from '@nx/devkit';
import { cancel, clean, logs, report, retry } from '../../commands/record-commands';
import { CampaignError } from '../../format/errors';

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
  try {
    switch (o.command) {
      case 'report':
        process.stdout.write(report(context.root, o.run, { json: o.json, diff: o.diff }));
        break;
      case 'logs':
        if (!o.stage) throw new CampaignError(`logs needs the stage: nx run ${context.projectName}:logs --stage=<stage>`);
        process.stdout.write(logs(context.root, o.run, o.stage, o.attempt));
        break;
      case 'cancel':
        process.stdout.write(await cancel(context.root, o.run));
        break;
      case 'retry':
        return { success: retry(context.root, o.run) === 0 };
      case 'clean':
        process.stdout.write(clean(context.root, o.run, { yes: o.yes }));
        break;
    }
    return { success: true };
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return { success: false };
  }
}
