import type { ExecutorContext } from '@nx/devkit';
import { status } from '../../commands/record-commands';
import { watch } from '../../commands/watch';
import { DEFAULT_PORT, serveDashboard } from '../../dashboard/serve';
import { printed } from '../command-output';

export interface WorkspaceExecutorOptions {
  command: 'serve' | 'status' | 'watch';
  port?: number;
  host?: string;
  token?: string;
  all?: boolean;
  site?: string;
  run?: string;
}

/** The workspace project's targets (`nx run campaign:serve`): the same as `campaign <command>`. */
export default async function workspaceExecutor(o: WorkspaceExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return printed(async () => {
    switch (o.command) {
      case 'status':
        return { stdout: status(context.root, { all: o.all, site: o.site }) };
      case 'watch':
        await watch(context.root, { run: o.run, site: o.site, tty: process.stdout.isTTY === true, write: (t) => process.stdout.write(t) });
        return { stdout: '' };
      case 'serve':
        await serveDashboard({ wsRoot: context.root, host: o.host ?? '127.0.0.1', port: o.port ?? DEFAULT_PORT, token: o.token, print: (l) => process.stdout.write(`${l}\n`) });
        return { stdout: '' };
    }
  });
}
