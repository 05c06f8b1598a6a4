import { DEFAULT_TEMPLATE } from '../backends/slurm/template';
import { CampaignError } from '../config/errors';
import { findWorkspaceRoot } from '../util/workspace';
import { dryRun } from './dry-run';
import { planCommand, type PlanOptions } from './plan';
import { quickTest, type QuickTestOptions } from './quick-test';

const USAGE = `usage: campaign <command> [args]

commands:
  dry-run <runs/RUN.yaml>   print every stage's command, folder, environment and resources; run nothing
  plan <file> [--site NAME] [--json] [--svg FILE]
                            place a run's stages on a site's nodes (HEFT): nodes, start, end, walltime
                            and QoS per stage, makespan, lower bound, deadline check. <file> is a run
                            file or a pipeline file (e.g. a socm DAG YAML) planned alone
  quick-test <runs/RUN.yaml> [--nodes N] [--time 30m] [--qos Q] [--partition P] [--account A] [--print]
                            ask SLURM for a small allocation of whole nodes (salloc; default 1 node, 30 min,
                            the site's shortest QoS) and run the run inside it as srun steps
                            (--backend=allocation); --print shows the salloc command instead
  sbatch-template           print the default sbatch template, to copy to sbatch/sites/<site>.hbs or
                            sbatch/stages/<stage>.hbs and extend (module load, conda, #SBATCH lines)
`;

/** `<file> --flag value --flag=value --switch`: the one file, and each flag through `take`. */
function parseArgs(command: string, args: string[], take: (flag: string, value: () => string) => boolean): string {
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].startsWith('--') ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v === '') throw new CampaignError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (!flag.startsWith('-')) files.push(args[i]);
    else if (!take(flag, value)) throw new CampaignError(`${command}: unknown option "${flag}"\n${USAGE}`);
  }
  if (files.length !== 1) throw new CampaignError(`${command} takes one file\n${USAGE}`);
  return files[0];
}

function parsePlanArgs(args: string[]): { file: string; options: PlanOptions } {
  const options: PlanOptions = {};
  const file = parseArgs('plan', args, (flag, value) => {
    if (flag === '--site') options.site = value();
    else if (flag === '--svg') options.svg = value();
    else if (flag === '--json') options.json = true;
    else return false;
    return true;
  });
  return { file, options };
}

function parseQuickTestArgs(args: string[]): { file: string; options: QuickTestOptions } {
  const options: QuickTestOptions = {};
  const file = parseArgs('quick-test', args, (flag, value) => {
    if (flag === '--nodes') {
      const v = value();
      options.nodes = Number(v);
      if (!Number.isInteger(options.nodes) || options.nodes < 1) throw new CampaignError(`--nodes ${v}: a whole number of nodes, at least 1`);
    } else if (flag === '--time') options.time = value();
    else if (flag === '--qos') options.qos = value();
    else if (flag === '--partition') options.partition = value();
    else if (flag === '--account') options.account = value();
    else if (flag === '--print') options.print = true;
    else return false;
    return true;
  });
  return { file, options };
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
      case 'quick-test': {
        const { file, options } = parseQuickTestArgs(args);
        return quickTest(findWorkspaceRoot(process.cwd()), file, options);
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
