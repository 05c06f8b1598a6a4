import type { Tree } from '@nx/devkit';
import { availableParallelism } from 'node:os';
import { NULL_TESTS } from '../../workflows/splits';

export interface CampaignGeneratorSchema {
  name: string;
  workflows?: string;
  site?: string;
  deadline?: string;
  context?: string;
  area?: string;
  query?: string;
  preprocess?: string;
  cores?: number;
  schedule?: string;
  script?: string;
}

const q = (v: string) => JSON.stringify(v);
const NULL = NULL_TESTS.map((t) => `${t}-tests`);

/** runs/<name>.toml: a campaign of the chosen workflow types that plans and runs as written. */
export default function campaignGenerator(tree: Tree, o: CampaignGeneratorSchema): void {
  const file = `runs/${o.name}.toml`;
  if (tree.exists(file)) throw new Error(`${file} exists already`);
  const types = (o.workflows ?? 'ml-mapmaking,mission-tests').split(',').map((w) => w.trim()).filter(Boolean);
  const out = (w: string) => q(`results/${o.name}/${w}`);
  const mapping = [`context = ${q(o.context ?? 'file://data/so/context.yaml')}`, `area = ${q(o.area ?? 'file://data/so/area.fits')}`, `preprocess_config = ${q(o.preprocess ?? 'file://data/so/preprocess.yaml')}`, ...(o.query ? [`query = ${q(o.query)}`] : [])];
  const lines = [
    `# socm campaign ${o.name}: plan with \`npx campaign plan ${file}\`, run with \`npx nx run-many -t stage --projects=tag:run:${o.name}\`.`,
    '[campaign]',
    `deadline = ${q(o.deadline ?? '1d')}`,
    `resource = ${q(o.site ?? 'local')}`,
    'policy = "time"',
    'execution_schema = "batch"',
    `requested_resources = ${o.cores ?? availableParallelism()}   # cores: the plan's cap`,
    '',
  ];
  const tests = types.filter((t) => NULL.includes(t));
  for (const t of types.filter((x) => !NULL.includes(x))) {
    lines.push(`[campaign.${t}]`);
    if (t === 'ml-mapmaking') lines.push(...mapping, `output_dir = ${out('maps')}`, 'comps = "TQU"', 'maxiter = "20"');
    else if (t === 'sat-sims') {
      if (!o.schedule) throw new Error('sat-sims needs --schedule=file://<schedule file>');
      lines.push(`schedule = ${q(o.schedule)}`, `output_dir = ${out('sims')}`, 'sim_noise = true');
    } else if (t === 'power-spectra') {
      if (!o.script) throw new Error('power-spectra needs --script=<PSpipe script>');
      lines.push(`subcommand = ${q(o.script)}`, 'script_args = []', 'script_flags = []');
    } else lines.push('# the options of this workspace\'s workflow type (workflows/' + t + '.ts)');
    lines.push('', `[campaign.${t}.resources]`, 'ranks = 1', 'threads = 1', 'memory = "2G"', 'runtime = "30m"', '');
  }
  if (tests.length) {
    lines.push('# Shared by every null test; a key a test sets itself wins.', '[campaign.ml-null-tests]', ...mapping, `output_dir = ${out('null')}`, 'comps = "TQU"', 'maxiter = "20"', 'chunk_nobs = 10', '', '[campaign.ml-null-tests.resources]', 'memory = "2G"', 'runtime = "30m"', '');
    // socm's wafer test needs the observations of one tube slot (the shipped obsdb has i1 and i2).
    for (const t of tests) lines.push(`[campaign.ml-null-tests.${t}]`, ...(t === 'wafer-tests' && !o.query ? [`query = "tube_slot = 'i1'"`] : []), 'nsplits = 2', '');
  }
  tree.write(file, `${lines.join('\n').trimEnd()}\n`);
}
