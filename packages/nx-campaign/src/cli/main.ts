import { CampaignError } from '../config/errors';
import { findWorkspaceRoot } from '../util/workspace';
import { dryRun } from './dry-run';

const USAGE = `usage: campaign <command> [args]

commands:
  dry-run <runs/RUN.yaml>   print every stage's command, folder, environment and resources; run nothing
`;

export function main(argv: string[]): number {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'dry-run': {
        if (args.length !== 1) throw new CampaignError(`dry-run takes one run file\n${USAGE}`);
        process.stdout.write(dryRun(findWorkspaceRoot(process.cwd()), args[0]));
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        return command ? 0 : 2;
      default:
        throw new CampaignError(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
}
