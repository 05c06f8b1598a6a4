import { DEFAULT_TEMPLATE } from '../backends/slurm/template';
import { CampaignError } from '../config/errors';
import { findWorkspaceRoot } from '../util/workspace';
import { dryRun } from './dry-run';
import { planCommand, type PlanOptions } from './plan';

const USAGE = `usage: campaign <command> [args]

commands:
  dry-run <runs/RUN.yaml>   print every stage's command, folder, environment and resources; run nothing
  plan <file> [--site NAME] [--json] [--svg FILE]
                            place a run's stages on a site's nodes (HEFT): nodes, start, end, walltime
                            and QoS per stage, makespan, lower bound, deadline check. <file> is a run
                            file or a pipeline file (e.g. a socm DAG YAML) planned alone
  sbatch-template           print the default sbatch template, to copy to sbatch/sites/<site>.hbs or
                            sbatch/stages/<stage>.hbs and extend (module load, conda, #SBATCH lines)
`;

function parsePlanArgs(args: string[]): { file: string; options: PlanOptions } {
  const options: PlanOptions = {};
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].startsWith('--') ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v === '') throw new CampaignError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--site') options.site = value();
    else if (flag === '--svg') options.svg = value();
    else if (flag === '--json') options.json = true;
    else if (flag.startsWith('-')) throw new CampaignError(`plan: unknown option "${flag}"\n${USAGE}`);
    else files.push(args[i]);
  }
  if (files.length !== 1) throw new CampaignError(`plan takes one run or pipeline file\n${USAGE}`);
  return { file: files[0], options };
}

/** The workspace root; for `plan`, a folder without nx.json is fine (a socm DAG file planned where it lies). */
function planRoot(cwd: string): string {
  try {
    return findWorkspaceRoot(cwd);
  } catch {
    return cwd;
  }
}

export function main(argv: string[]): number {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'dry-run': {
        if (args.length !== 1) throw new CampaignError(`dry-run takes one run file\n${USAGE}`);
        process.stdout.write(dryRun(findWorkspaceRoot(process.cwd()), args[0]));
        return 0;
      }
      case 'plan': {
        const { file, options } = parsePlanArgs(args);
        const out = planCommand(planRoot(process.cwd()), process.cwd(), file, options);
        process.stderr.write(out.stderr);
        process.stdout.write(out.stdout);
        return 0;
      }
      case 'sbatch-template':
        process.stdout.write(DEFAULT_TEMPLATE);
        return 0;
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
