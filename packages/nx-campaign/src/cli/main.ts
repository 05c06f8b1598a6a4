import { DEFAULT_TEMPLATE } from '../backends/slurm/template';
import { CampaignError } from '../format/errors';
import { findWorkspaceRoot } from '../commands/workspace';
import { dryRun } from '../commands/dry-run';
import { planCommand, type PlanOptions } from '../commands/plan';
import { pipelineCommand } from '../commands/pipeline';
import { render } from '../commands/render';
import { quickTest, type QuickTestOptions } from '../commands/quick-test';
import { accept, cancel, clean, logs, report, retry, status, type StatusOptions } from '../commands/record-commands';
import { parseRuntimeSeconds } from '../format/quantities';
import { watch } from '../commands/watch';
import { why } from '../commands/why';
import { graph, GRAPH_PORT } from '../commands/graph';
import { DEFAULT_PORT, serveDashboard } from '../dashboard/serve';

const USAGE = `usage: campaign <command> [args]

commands:
  dry-run <file> [--json]   print every stage's command, folder, environment and resources; run nothing
  plan <file> [--site NAME] [--json] [--svg FILE]
                            place a run's stages on a site's nodes (HEFT): nodes, start, end, walltime
                            and QoS per stage, makespan, lower bound, deadline check
                            (dry-run and plan: <file> is a run file, a TOML campaign, or a pipeline file
                            alone, e.g. a socm DAG YAML; --json prints JSON only on stdout)
  pipeline <file>[#expr] [--json]
                            an LSST pipeline as pipe_base expands it (imports, parameters, the label
                            expression: #step1, #isr,calibrateImage, #isr..calibrateImage): tasks,
                            classes, config overrides, subsets, steps
  render <campaign> [--step S]
                            write the BPS submit files of a Rubin campaign (of step S) without
                            submitting; edit one before it is submitted, the record keeps the diff
  graph <run> [--port 4211]  Nx's graph of the run's stages and their edges, at first sight (nx graph,
                            its flat view focused on the run): prints the address to open
  quick-test <runs/RUN.yaml> [--nodes N] [--time 30m] [--qos Q] [--partition P] [--account A] [--print]
                            ask SLURM for a small allocation of whole nodes (salloc; default 1 node, 30 min,
                            the site's shortest QoS) and run the run inside it as srun steps
                            (--backend=allocation); --print shows the salloc command instead

the record (.campaign/record.sqlite, or NX_CAMPAIGN_RECORD); <run> is runs/RUN.yaml or RUN:
  status [--all] [--since 7d] [--run R] [--campaign C] [--state S] [--site S]
                            running and recent runs, their state and their stages' states
  report <run> [--json] [--diff]
                            per stage: state of its latest attempt (BPS columns), EXPECTED, TOTAL,
                            attempts, job; failures with their log; --diff: the run files' last edit
  why <run> [<stage>] [--json]
                            per stage: whether it runs now or is cached, and why (the file, config
                            key, input or parent that changed, an output gone missing); why it last ran
  logs <run> <stage> [--attempt N]
                            the log of the latest (or N-th) attempt; for a failure its path and tail
  accept <campaign> <step> [--note TEXT]
                            accept a reviewed step of a Rubin campaign (recorded with who and when):
                            the steps after it start on the next run
  cancel <run>              stop the nx process running it and cancel its queued or running jobs
  retry <run>               run again what did not succeed (refused while running or when complete)
  clean <run> [--yes]       remove intermediate outputs the final ones no longer need and archive the
                            logs into <log_dir>/logs-<time>.tar.gz; a dry run without --yes

  serve [--port 4300] [--host 127.0.0.1] [--token T]
                            a read-only web dashboard over the record, live; any host but 127.0.0.1
                            needs a token (generated and printed when not given)
  watch [<run>] [--site S] [--interval 2]
                            the overview in the terminal, redrawn until the run ends (lines appended
                            when the output is not a terminal)

  sbatch-template           print the default sbatch template, to copy to sbatch/sites/<site>.hbs or
                            sbatch/stages/<stage>.hbs and extend (module load, conda, #SBATCH lines)
`;

/** `<positional>... --flag value --flag=value --switch`: `count` positionals, and each flag through `take`. */
function parseArgs(command: string, args: string[], count: [number, number], take: (flag: string, value: () => string) => boolean): string[] {
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
  if (files.length < count[0] || files.length > count[1]) throw new CampaignError(`${command}: ${files.length} argument(s) given\n${USAGE}`);
  return files;
}

function parsePlanArgs(args: string[]): { file: string; options: PlanOptions } {
  const options: PlanOptions = {};
  const [file] = parseArgs('plan', args, [1, 1], (flag, value) => {
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
  const [file] = parseArgs('quick-test', args, [1, 1], (flag, value) => {
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

const switches = (command: string, args: string[], count: [number, number], names: string[]) => {
  const on = new Set<string>();
  const positional = parseArgs(command, args, count, (flag) => {
    if (!names.includes(flag)) return false;
    on.add(flag);
    return true;
  });
  return { positional, on };
};

/** A command's text: warnings to stderr, the answer to stdout. */
function printed(out: { stdout: string; stderr: string }): number {
  process.stderr.write(out.stderr);
  process.stdout.write(out.stdout);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'dry-run': {
        const { positional, on } = switches('dry-run', args, [1, 1], ['--json']);
        return printed(dryRun(process.cwd(), positional[0], { json: on.has('--json') }));
      }
      case 'plan': {
        const { file, options } = parsePlanArgs(args);
        return printed(planCommand(process.cwd(), file, options));
      }
      case 'pipeline': {
        const { positional, on } = switches('pipeline', args, [1, 1], ['--json']);
        return printed(pipelineCommand(process.cwd(), positional[0], { json: on.has('--json') }));
      }
      case 'render': {
        let step: string | undefined;
        const positional = parseArgs('render', args, [1, 1], (flag, value) => {
          if (flag !== '--step') return false;
          step = value();
          return true;
        });
        process.stdout.write(render(process.cwd(), positional[0], { step }));
        return 0;
      }
      case 'quick-test': {
        const { file, options } = parseQuickTestArgs(args);
        return quickTest(findWorkspaceRoot(process.cwd()), file, options);
      }
      case 'status': {
        const o: StatusOptions = {};
        parseArgs('status', args, [0, 0], (flag, value) => {
          if (flag === '--all') o.all = true;
          else if (flag === '--since') {
            const v = value();
            const t = parseRuntimeSeconds(v);
            if ('error' in t) throw new CampaignError(`status --since: ${t.error}\n  fix: ${t.fix}`);
            o.since = t.value;
          } else if (flag === '--run') o.run = value();
          else if (flag === '--campaign') o.campaign = value();
          else if (flag === '--state') o.state = value();
          else if (flag === '--site') o.site = value();
          else return false;
          return true;
        });
        process.stdout.write(status(findWorkspaceRoot(process.cwd()), o));
        return 0;
      }
      case 'report': {
        const { positional, on } = switches('report', args, [1, 1], ['--json', '--diff']);
        process.stdout.write(report(findWorkspaceRoot(process.cwd()), positional[0], { json: on.has('--json'), diff: on.has('--diff') }));
        return 0;
      }
      case 'why': {
        const { positional, on } = switches('why', args, [1, 2], ['--json']);
        process.stdout.write(why(findWorkspaceRoot(process.cwd()), positional[0], positional[1], { json: on.has('--json') }));
        return 0;
      }
      case 'logs': {
        let attempt: number | undefined;
        const positional = parseArgs('logs', args, [2, 2], (flag, value) => {
          if (flag !== '--attempt') return false;
          attempt = Number(value());
          return true;
        });
        process.stdout.write(logs(findWorkspaceRoot(process.cwd()), positional[0], positional[1], attempt));
        return 0;
      }
      case 'accept': {
        let note: string | undefined;
        const positional = parseArgs('accept', args, [2, 2], (flag, value) => {
          if (flag !== '--note') return false;
          note = value();
          return true;
        });
        process.stdout.write(accept(findWorkspaceRoot(process.cwd()), positional[0], positional[1], note));
        return 0;
      }
      case 'cancel': {
        const { positional } = switches('cancel', args, [1, 1], []);
        process.stdout.write(await cancel(findWorkspaceRoot(process.cwd()), positional[0]));
        return 0;
      }
      case 'retry': {
        const { positional } = switches('retry', args, [1, 1], []);
        return retry(findWorkspaceRoot(process.cwd()), positional[0]);
      }
      case 'clean': {
        const { positional, on } = switches('clean', args, [1, 1], ['--yes']);
        process.stdout.write(clean(findWorkspaceRoot(process.cwd()), positional[0], { yes: on.has('--yes') }));
        return 0;
      }
      case 'graph': {
        let port = GRAPH_PORT;
        const positional = parseArgs('graph', args, [1, 1], (flag, value) => {
          if (flag !== '--port') return false;
          port = Number(value());
          return true;
        });
        return await graph(findWorkspaceRoot(process.cwd()), positional[0], { port, print: (l) => process.stdout.write(`${l}\n`) });
      }
      case 'serve': {
        const o = { host: '127.0.0.1', port: DEFAULT_PORT, token: undefined as string | undefined };
        parseArgs('serve', args, [0, 0], (flag, value) => {
          if (flag === '--host') o.host = value();
          else if (flag === '--token') o.token = value();
          else if (flag === '--port') {
            const v = value();
            o.port = Number(v);
            if (!/^\d+$/.test(v) || o.port > 65535) throw new CampaignError(`serve --port ${v}: not a port number\n  fix: a number from 1 to 65535 (0: any free port)`);
          } else return false;
          return true;
        });
        await serveDashboard({ wsRoot: findWorkspaceRoot(process.cwd()), ...o, print: (l) => process.stdout.write(`${l}\n`) });
        return 0;
      }
      case 'watch': {
        let site: string | undefined;
        let interval: number | undefined;
        const positional = parseArgs('watch', args, [0, 1], (flag, value) => {
          if (flag === '--site') site = value();
          else if (flag === '--interval') {
            const v = value();
            interval = Number(v);
            if (!(interval >= 0.5 && interval <= 3600)) throw new CampaignError(`watch --interval ${v}: not a number of seconds from 0.5 to 3600\n  fix: --interval 2`);
          } else return false;
          return true;
        });
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        try {
          await watch(findWorkspaceRoot(process.cwd()), { run: positional[0], site, intervalSeconds: interval, tty: process.stdout.isTTY === true, write: (t) => process.stdout.write(t), signal: abort.signal });
        } finally {
          process.off('SIGINT', stop);
        }
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
