/**
 * The bad-input corpus: variations of the shipped examples (pipelines/, runs/, data/) that a
 * careless or hostile user could write. Each must be refused by the command it is given to
 * with a located problem and a fix, touching nothing (bad-inputs.e2e.spec.ts).
 *
 * Cases are generated: a kind of mistake crossed with the places it can be made. Each edit
 * replaces text the shipped example holds once, so a change to an example that a case no
 * longer matches fails loudly instead of testing nothing.
 */
import type { Edit } from './edits';

export const CATEGORIES = ['syntax', 'types', 'units', 'names', 'paths', 'ownership', 'injection', 'exhaustion', 'obsdb', 'templates', 'sites'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface BadCase {
  id: string;
  category: Category;
  edits: Edit[];
  /** `campaign` arguments, or `['nx', ...]` for an nx command. */
  command: string[];
  /** The file the problem is located in (workspace-relative). */
  file: string;
  /** Text the located problem line holds (its key or message). */
  mentions: string | RegExp;
}

const PS = 'pipelines/pspipe/pipeline.yaml';
const PS_RUN = 'runs/pspipe-demo.yaml';
const PZ_RUN = 'runs/photoz-sim.yaml';
const PZ_OBS = 'runs/photoz-observed.yaml';
const PZ = 'pipelines/photoz/pipeline.yaml';
const PZ_TYPES = 'pipelines/photoz/photoz_stages.yaml';
const PZ_CONFIG = 'pipelines/photoz/config.yaml';
const WL = 'pipelines/wlgc/pipeline.yaml';
const WL_RUN = 'runs/wlgc.yaml';
const WL_CONFIG = 'pipelines/wlgc/config.yml';
const SO = 'runs/so-nulltests.toml';
const CONTEXT = 'data/so/context.yaml';
const OBSDB = 'data/so/obsdb.sqlite';
const SITES = 'sites.yaml';
const DAG = 'pipelines/socm-dag/pipeline.yaml';

const dry = (file: string) => ['dry-run', file];
const plan = (file: string, ...extra: string[]) => ['plan', file, ...extra];

const cases: BadCase[] = [];
function add(category: Category, id: string, c: Omit<BadCase, 'id' | 'category'>): void {
  if (cases.some((x) => x.id === id)) throw new Error(`case ${id} twice`);
  cases.push({ id, category, ...c });
}

/** A one-line edit of a file, run through `command`. */
const edit = (file: string, from: string, to: string): Edit => ({ file, from, to });

/** A socm DAG pipeline `t` of its own and a run of it: for mistakes the examples cannot hold. */
function socm(stages: string, run = 'pipelines: t\n'): Edit[] {
  return [
    { file: 'pipelines/t/pipeline.yaml', text: `stages:\n${stages}` },
    { file: 'runs/t.yaml', text: run },
  ];
}
/** A workspace workflow type `my-flow` (workflows/my-flow.cjs) making one stage, used by the campaign. */
function customWorkflow(stage: string): Edit[] {
  const code = `const { z } = require('zod');
module.exports = { name: 'my-flow', description: 'one stage', options: z.strictObject({}), stages: () => [{ ${stage} }] };
`;
  return [{ file: 'workflows/my-flow.cjs', text: code }, { file: SO, append: '\n[campaign.my-flow]\n' }];
}
const stage = (name: string, ...lines: string[]) => [`  ${name}:`, '    executable: sh', '    script-args: ["-c", "true"]', ...lines.map((l) => `    ${l}`)].join('\n') + '\n';

// ---------------------------------------------------------------------------------- syntax
{
  const yamlBreaks: [string, string, string, string, string][] = [
    // [id, file, from, to, mentions]
    ['unclosed-flow-pipeline', PS, 'outputs: [tod/tod.csv]', 'outputs: [tod/tod.csv', ''],
    ['tab-indent-pipeline', PS, '    script: scripts/simulate_tod.py', '\tscript: scripts/simulate_tod.py', ''],
    ['unclosed-quote-run', PZ_RUN, 'pipelines: photoz', 'pipelines: "photoz', ''],
    ['bad-indent-run', PZ_RUN, 'inputs:\n  spec_catalog', 'inputs:\n    spec_catalog: x\n  spec_catalog', ''],
    ['unclosed-flow-stage-types', PZ_TYPES, 'inputs: {spec_catalog: csv}', 'inputs: {spec_catalog: csv', ''],
    ['unclosed-flow-ceci-config', PZ_CONFIG, 'bands: [u, g, r, i, z]', 'bands: [u, g, r, i, z', ''],
    ['unclosed-flow-wlgc-config', WL_CONFIG, 'zbin_edges: [0.2, 0.3, 0.5]', 'zbin_edges: [0.2, 0.3, 0.5', ''],
    ['undefined-alias-pipeline', PS, 'resources: *small\n  map_split1', 'resources: *nothere\n  map_split1', 'nothere'],
    ['undefined-alias-run', PZ_RUN, 'train_photoz: {k: 7}', 'train_photoz: {k: *nothere}', 'nothere'],
    ['undefined-alias-ceci', WL, 'max_threads: 2', 'max_threads: *nothere', 'nothere'],
    ['tab-indent-context', CONTEXT, 'obsdb: obsdb.sqlite', 'obsdb:\n\tobsdb.sqlite', ''],
    ['duplicate-anchor-use-before', PS, 'nside: &nside 16', 'nside: *nside', 'nside'],
  ];
  const run = (file: string) => (file.startsWith('runs/') ? file : file === PS ? PS_RUN : file === WL || file === WL_CONFIG ? WL_RUN : file === CONTEXT ? SO : PZ_RUN);
  for (const [id, file, from, to, mentions] of yamlBreaks) {
    // The context is sotodlib's file, read for its obsdb: its mistakes are located at the campaign's context key.
    const at = file === CONTEXT ? { file: SO, mentions: 'context' } : { file, mentions };
    add('syntax', id, { edits: [edit(file, from, to)], command: dry(run(file)), ...at });
  }

  const tomlBreaks: [string, string, string, string][] = [
    ['toml-unclosed-string', 'deadline = "2h"', 'deadline = "2h', ''],
    ['toml-duplicate-key', 'policy = "time"', 'policy = "time"\npolicy = "time"', ''],
    ['toml-duplicate-table', '[campaign.ml-null-tests.pwv-tests]', '[campaign.ml-null-tests.pwv-tests]\npwv_limit = 1\n[campaign.ml-null-tests.pwv-tests]', ''],
    ['toml-bad-value', 'chunk_nobs = 10', 'chunk_nobs = ten', ''],
    ['toml-unclosed-table', '[campaign.ml-mapmaking.resources]', '[campaign.ml-mapmaking.resources', ''],
    ['toml-bare-line', 'comps = "TQU"\nmaxiter = "20"', 'comps = "TQU"\nthis is not toml\nmaxiter = "20"', ''],
  ];
  for (const [id, from, to, mentions] of tomlBreaks) add('syntax', id, { edits: [edit(SO, from, to)], command: dry(SO), file: SO, mentions });

  const wholeFiles: [string, string, string | Buffer, string][] = [
    ['run-is-a-list', PZ_RUN, '- photoz\n- sim\n', ''],
    ['run-is-a-scalar', PZ_RUN, 'photoz\n', ''],
    ['run-is-binary', PZ_RUN, Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x02, 0x80, 0x00]), ''],
    ['pipeline-is-a-list', PS, '- simulate_tod\n- spectra\n', ''],
    ['pipeline-is-empty', PS, '', ''],
    ['context-is-binary', CONTEXT, Buffer.from([0x00, 0x01, 0xff, 0x7f, 0x00]), ''],
    ['context-is-a-list', CONTEXT, '- obsdb.sqlite\n', ''],
    ['stage-types-is-a-list', PZ_TYPES, '- SplitCatalog\n', ''],
    ['ceci-config-is-a-scalar', PZ_CONFIG, 'seed\n', ''],
    ['toml-is-binary', SO, Buffer.from([0x00, 0x5b, 0xff, 0x5d, 0x0a]), ''],
  ];
  const runOf = (file: string) => (file === PS ? PS_RUN : file === CONTEXT || file === SO ? SO : PZ_RUN);
  for (const [id, file, text, mentions] of wholeFiles) {
    const at = file === CONTEXT ? { file: SO, mentions: 'context' } : { file, mentions };
    add('syntax', id, { edits: [{ file, text }], command: dry(runOf(file)), ...at });
  }

  add('syntax', 'misspelled-run-key', { edits: [edit(PZ_RUN, 'pipelines: photoz', 'pipeline: photoz')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'pipeline' });
  add('syntax', 'unknown-run-key', { edits: [{ file: PZ_RUN, append: 'outptu_dir: x\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'outptu_dir' });
  add('syntax', 'unknown-stage-key', { edits: [edit(PS, 'script-flags: [with-noise]', 'script-flag: [with-noise]')], command: dry(PS_RUN), file: PS, mentions: 'script-flag' });
  add('syntax', 'unknown-campaign-key', { edits: [edit(SO, 'policy = "time"', 'polcy = "time"')], command: dry(SO), file: SO, mentions: 'polcy' });
  add('syntax', 'unknown-workflow', { edits: [edit(SO, '[campaign.ml-null-tests.pwv-tests]', '[campaign.ml-null-tests.pvw-tests]')], command: dry(SO), file: SO, mentions: 'pvw-tests' });
  add('syntax', 'unknown-sites-key', { edits: [{ file: SITES, text: 'site:\n  x: {backend: local}\n' }], command: plan(PS_RUN), file: SITES, mentions: 'site' });
}

// ----------------------------------------------------------------------------------- types
{
  const runTypes: [string, string, string, string][] = [
    ['pipelines-number', 'pipelines: photoz', 'pipelines: 3', 'pipelines'],
    ['pipelines-mapping', 'pipelines: photoz', 'pipelines: {photoz: 1}', 'pipelines'],
    ['pipelines-empty-list', 'pipelines: photoz', 'pipelines: []', 'pipelines'],
    ['resume-word', 'resume: resume', 'resume: maybe', 'resume'],
    ['output-dir-list', 'output_dir: results/photoz-sim/outputs', 'output_dir: [results]', 'output_dir'],
    ['inputs-list', 'inputs:\n  spec_catalog: data/photoz/sim/spec.csv      # relative to the workspace root\n  target_catalog: data/photoz/sim/target.csv', 'inputs: [data/photoz/sim/spec.csv]', 'inputs'],
    ['config-list', 'train_photoz: {k: 7}', 'train_photoz: [7]', 'config.train_photoz'],
    ['option-int-word', 'train_photoz: {k: 7}', 'train_photoz: {k: seven}', 'config.train_photoz.k'],
    ['option-int-fraction', 'train_photoz: {k: 7}', 'train_photoz: {k: 7.5}', 'config.train_photoz.k'],
    ['option-bool-number', 'train_photoz: {k: 7}', 'train_photoz: {use_magnitude: 3}', 'config.train_photoz.use_magnitude'],
    ['option-list-number', 'train_photoz: {k: 7}', 'train_photoz: {bands: 5}', 'config.train_photoz.bands'],
    ['option-float-word', 'train_photoz: {k: 7}', 'split_catalog: {test_fraction: most}', 'config.split_catalog.test_fraction'],
    ['option-str-list', 'train_photoz: {k: 7}', 'train_photoz: {weighting: [a, b]}', 'config.train_photoz.weighting'],
    ['strict-word', 'resume: resume', 'resume: resume\nstrict: yes please', 'strict'],
    ['retries-word', 'resume: resume', 'resume: resume\nretries: {count: many}', 'retries.count'],
    ['retries-negative', 'resume: resume', 'resume: resume\nretries: {count: -1}', 'retries.count'],
    ['retries-never-word', 'resume: resume', 'resume: resume\nretries: {never: [one]}', 'retries.never'],
    ['retries-multiplier-below-one', 'resume: resume', 'resume: resume\nretries: {memory_multiplier: 0.5}', 'retries.memory_multiplier'],
    ['requested-resources-fraction', 'resume: resume', 'resume: resume\nrequested_resources: 2.5', 'requested_resources'],
    ['nodes-zero', 'resume: resume', 'resume: resume\nnodes: 0', 'nodes'],
    ['backend-unknown', 'resume: resume', 'resume: resume\nbackend: pbs', 'backend'],
  ];
  add('types', 'run-from-to-disjoint', { edits: [{ file: PZ_RUN, append: 'from: evaluate\nto: split_catalog\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'select no stage' });
  add('types', 'run-from-unknown', { edits: [{ file: PZ_RUN, append: 'from: evaluation\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'evaluation' });
  for (const [id, from, to, mentions] of runTypes) add('types', `run-${id}`, { edits: [edit(PZ_RUN, from, to)], command: dry(PZ_RUN), file: PZ_RUN, mentions });

  const dagTypes: [string, string, string, string][] = [
    ['depends-number', 'depends: [simulate_tod]\n    inputs: [tod/tod.csv]\n    outputs: [maps/split0.csv]', 'depends: 5\n    inputs: [tod/tod.csv]\n    outputs: [maps/split0.csv]', 'depends'],
    ['depends-unknown-stage', 'depends: [map_split0, map_split1]', 'depends: [map_split0, map_split2]', 'map_split2'],
    ['resources-list', 'resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m}', 'resources: &small [512M]', 'resources'],
    ['ranks-word', 'resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m}', 'resources: &small {memory: 512M, ranks: two, threads: 1, runtime: 1m}', 'ranks'],
    ['ranks-fraction', 'resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m}', 'resources: &small {memory: 512M, ranks: 1.5, threads: 1, runtime: 1m}', 'ranks'],
    ['threads-negative', 'resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m}', 'resources: &small {memory: 512M, ranks: 1, threads: -1, runtime: 1m}', 'threads'],
    ['threads-zero', 'resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m}', 'resources: &small {memory: 512M, ranks: 1, threads: 0, runtime: 1m}', 'threads'],
    ['executable-number', 'executable: &python python3 -u', 'executable: &python 42', 'executable'],
    ['executable-empty', 'executable: &python python3 -u', 'executable: &python ""', 'executable'],
    ['script-args-mapping', 'script-args: [tod/tod.csv]', 'script-args: {tod: tod/tod.csv}', 'script-args'],
    ['script-kwargs-list', 'script-kwargs: {bin_width: 4}', 'script-kwargs: [4]', 'script-kwargs'],
    ['outputs-mapping', 'outputs: [tod/tod.csv]', 'outputs: {tod: tod/tod.csv}', 'outputs'],
    ['stages-list', 'stages:\n  simulate_tod:', 'stages:\n  - simulate_tod:', ''],
  ];
  for (const [id, from, to, mentions] of dagTypes) add('types', `dag-${id}`, { edits: [edit(PS, from, to)], command: dry(PS_RUN), file: PS, mentions });
  add('types', 'dag-stages-empty', { edits: socm('  {}\n'), command: dry('runs/t.yaml'), file: 'runs/t.yaml', mentions: 'no stage' });

  const tomlTypes: [string, string, string, string][] = [
    ['requested-resources-word', 'requested_resources = 2 ', 'requested_resources = "two" ', 'requested_resources'],
    ['nsplits-fraction', 'nsplits = 4', 'nsplits = 2.5', 'nsplits'],
    ['nsplits-string', 'nsplits = 4', 'nsplits = "4"', 'nsplits'],
    ['nsplits-zero', 'nsplits = 4', 'nsplits = 0', 'nsplits'],
    ['chunk-nobs-negative', 'chunk_nobs = 10', 'chunk_nobs = -1', 'chunk_nobs'],
    ['pwv-limit-word', 'pwv_limit = 1.5', 'pwv_limit = "high"', 'pwv_limit'],
    ['pwv-limit-nan', 'pwv_limit = 1.5', 'pwv_limit = nan', 'pwv_limit'],
    ['pwv-limit-inf', 'pwv_limit = 1.5', 'pwv_limit = inf', 'pwv_limit'],
    ['threads-string', 'threads = 2', 'threads = "2"', 'threads'],
    ['policy-unknown', 'policy = "time"', 'policy = "fastest"', 'policy'],
    ['resource-number', 'resource = "local"', 'resource = 3', 'resource'],
    ['workflow-not-a-table', '[campaign.ml-null-tests.direction-tests]', 'direction-tests = 5\n[campaign.ml-null-tests.direction-tests2]', 'direction-tests'],
  ];
  for (const [id, from, to, mentions] of tomlTypes) add('types', `toml-${id}`, { edits: [edit(SO, from, to)], command: dry(SO), file: SO, mentions });

  add('types', 'ceci-nprocess-word', { edits: [edit(WL, 'nprocess: 1', 'nprocess: one')], command: dry(WL_RUN), file: WL, mentions: 'nprocess' });
  add('types', 'ceci-threads-zero', { edits: [edit(WL, 'threads_per_process: 2', 'threads_per_process: 0')], command: dry(WL_RUN), file: WL, mentions: 'threads_per_process' });
  add('types', 'ceci-stages-mapping', { edits: [edit(PZ, 'stages:\n  - name: split_catalog\n    classname: SplitCatalog', 'stages:\n  split_catalog:\n    classname: SplitCatalog')], command: dry(PZ_RUN), file: PZ, mentions: '' });
  add('types', 'ceci-aliases-list', { edits: [edit(PZ, 'aliases: {catalog: test_catalog, photoz: test_photoz}', 'aliases: [test_catalog]')], command: dry(PZ_RUN), file: PZ, mentions: 'aliases' });
  add('types', 'stage-type-option-type-unknown', { edits: [edit(PZ_TYPES, 'seed: {type: int, required: true', 'seed: {type: integer, required: true')], command: dry(PZ_RUN), file: PZ_TYPES, mentions: 'type' });
}

// ----------------------------------------------------------------------------------- units
{
  const memories = ['0G', '0', '-1G', '1X', 'G', 'lots', '1e400G', 'NaN', '.nan', 'Infinity', '.inf', '2000P', '1.5.3G', '512 M B'];
  memories.forEach((m, i) =>
    add('units', `dag-memory-${i}`, {
      edits: [edit(PS, 'resources: &small {memory: 512M,', `resources: &small {memory: ${m},`)],
      command: dry(PS_RUN),
      file: PS,
      mentions: 'memory',
    }),
  );
  const runtimes = ['0.4s', '0s', '0', '-5m', '10 parsecs', '367d', '1e999s', '9'.repeat(400), '.nan', '1h 2x'];
  runtimes.forEach((t, i) =>
    add('units', `dag-runtime-${i}`, {
      edits: [edit(PS, 'threads: 1, runtime: 1m}', `threads: 1, runtime: "${t}"}`)],
      command: dry(PS_RUN),
      file: PS,
      mentions: 'runtime',
    }),
  );
  const tomlUnits: [string, string, string, string][] = [
    ['memory-word', 'memory = "1G"', 'memory = "lots"', 'memory'],
    ['memory-zero', 'memory = "1G"', 'memory = "0M"', 'memory'],
    ['runtime-zero', 'runtime = "10m"', 'runtime = "0m"', 'runtime'],
    ['runtime-unit', 'runtime = "10m"', 'runtime = "10 fortnights"', 'runtime'],
    ['deadline-word', 'deadline = "2h"', 'deadline = "soon"', 'deadline'],
    ['deadline-negative', 'deadline = "2h"', 'deadline = "-2h"', 'deadline'],
  ];
  for (const [id, from, to, mentions] of tomlUnits) add('units', `toml-${id}`, { edits: [edit(SO, from, to)], command: dry(SO), file: SO, mentions });
  add('units', 'stage-type-memory', { edits: [edit(PZ_TYPES, 'resources: {threads: 1, memory: 512M, runtime: 1m}\n\nTrainPhotoz', 'resources: {threads: 1, memory: 512Q, runtime: 1m}\n\nTrainPhotoz')], command: dry(PZ_RUN), file: PZ_TYPES, mentions: 'memory' });
  add('units', 'run-resources-runtime', { edits: [{ file: PZ_RUN, append: 'resources:\n  train_photoz: {runtime: 0.1s}\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'runtime' });
  add('units', 'run-deadline', { edits: [{ file: PZ_RUN, append: 'deadline: yesterday\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'deadline' });
  add('units', 'retries-memory-max', { edits: [{ file: PZ_RUN, append: 'retries: {count: 2, memory_max: 0G}\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'memory_max' });
  add('units', 'retries-walltime-max', { edits: [{ file: PZ_RUN, append: 'retries: {count: 2, walltime_max: forever}\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'walltime_max' });
  add('units', 'dag-campaign-deadline', { edits: [edit(PS, 'deadline: 1h', 'deadline: 1 lightyear')], command: plan(PS), file: PS, mentions: 'deadline' });
}

// ----------------------------------------------------------------------------------- names
{
  const stageNames: [string, string][] = [
    ['space', 'simulate tod'],
    ['slash', 'sim/tod'],
    ['dotdot', '../tod'],
    ['leading-dot', '.hidden'],
    ['long-101', 's'.repeat(101)],
    ['long-300', 'x'.repeat(300)],
    ['unicode', 'étape'],
    ['colon', 'sim:tod'],
    ['quote', "sim'tod"],
    ['newline', '"sim\\ntod"'],
  ];
  for (const [id, name] of stageNames) add('names', `dag-stage-${id}`, { edits: socm(stage(name)), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: 'is not a name' });
  const ceciNames: [string, string][] = [
    ['slash', 'a/b'],
    ['leading-dot', '.evaluate'],
    ['long', 'e'.repeat(150)],
  ];
  for (const [id, name] of ceciNames) add('names', `ceci-stage-${id}`, { edits: [edit(PZ, '  - name: evaluate', `  - name: "${name}"`)], command: dry(PZ_RUN), file: PZ, mentions: 'name' });
  const aliases: [string, string][] = [
    ['slash', 'sub/test_photoz'],
    ['dotdot', '../../../../tmp/x/evil'],
    ['leading-dot', '.test_photoz'],
    ['space', 'test photoz'],
  ];
  for (const [id, alias] of aliases) add('names', `ceci-alias-${id}`, { edits: [edit(PZ, 'photoz: test_photoz}', `photoz: "${alias}"}`)], command: dry(PZ_RUN), file: PZ, mentions: 'aliases' });
  add('names', 'wlgc-alias-dotdot', { edits: [edit(WL, 'covariance_2: covariance_shared', 'covariance_2: ../../../x/evil')], command: dry(WL_RUN), file: WL, mentions: 'aliases' });
  add('names', 'env-name-dash', { edits: socm(stage('a', 'environment: {MY-VAR: "1"}')), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: 'environment' });
  add('names', 'env-name-digit', { edits: socm(stage('a', 'environment: {1VAR: "1"}')), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: 'environment' });
  add('names', 'toml-workflow-dotdot', { edits: [edit(SO, '[campaign.ml-null-tests.pwv-tests]', '[campaign.ml-null-tests."../pwv-tests"]')], command: dry(SO), file: SO, mentions: 'pwv-tests' });
  add('names', 'site-name-space', { edits: [{ file: SITES, text: 'sites:\n  "my site": {backend: local}\n' }], command: plan(PS_RUN), file: SITES, mentions: 'my site' });
  add('names', 'node-class-name', { edits: [{ file: SITES, text: 'sites:\n  x:\n    node_classes:\n      - {name: "a b", count: 1, cores: 4, memory: 8G}\n' }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'name' });
  add('names', 'qos-name', { edits: [{ file: SITES, text: 'sites:\n  x:\n    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n    qos:\n      "q;x": {walltime: 1h}\n' }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'q;x' });
  add('names', 'custom-workflow-stage-name', { edits: customWorkflow("name: '../escape', argv: ['true']"), command: dry(SO), file: SO, mentions: 'escape' });
}

// ----------------------------------------------------------------------------------- paths
{
  const folders: [string, string, string][] = [
    ['root', '.', 'output_dir'],
    ['root-slash', './', 'output_dir'],
    ['root-normalised', 'results/..', 'output_dir'],
    ['above-root', '..', 'output_dir'],
    ['inputs-folder', 'data/photoz/sim', 'output_dir'],
    ['inputs-parent', 'data', 'output_dir'],
    ['empty', '""', 'output_dir'],
  ];
  for (const [id, dir, mentions] of folders) add('paths', `output-dir-${id}`, { edits: [edit(PZ_RUN, 'output_dir: results/photoz-sim/outputs', `output_dir: ${dir}`)], command: dry(PZ_RUN), file: PZ_RUN, mentions });
  for (const [id, dir] of [['root', '.'], ['inputs-folder', 'data/photoz'], ['inputs-file-folder', 'data/photoz/sim'], ['above-root', '../..']]) {
    add('paths', `log-dir-${id}`, { edits: [edit(PZ_RUN, 'log_dir: results/photoz-sim/logs', `log_dir: ${dir}`)], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'log_dir' });
  }
  add('paths', 'clean-log-dir-inputs', { edits: [edit(PZ_RUN, 'log_dir: results/photoz-sim/logs', 'log_dir: data/photoz')], command: ['clean', PZ_RUN, '--yes'], file: PZ_RUN, mentions: 'log_dir' });
  add('paths', 'clean-output-dir-root', { edits: [edit(PZ_RUN, 'output_dir: results/photoz-sim/outputs', 'output_dir: .')], command: ['clean', PZ_RUN, '--yes'], file: PZ_RUN, mentions: 'output_dir' });
  add('paths', 'input-unknown-tag', { edits: [edit(PZ_RUN, '  spec_catalog: data', '  spec_catalgo: data')], command: dry(PZ_RUN), file: PZ, mentions: 'spec_catalog' });
  const dagOutputs: [string, string][] = [
    ['dotdot', '../../escape.csv'],
    ['absolute', '/etc/passwd'],
    ['deep-dotdot', 'tod/../../../../../tmp/escape.csv'],
    ['canary', '@CANARY@/keep.txt'],
    ['dot', '.'],
  ];
  for (const [id, out] of dagOutputs) add('paths', `dag-output-${id}`, { edits: [edit(PS, 'outputs: [tod/tod.csv]', `outputs: [tod/tod.csv, "${out}"]`)], command: dry(PS_RUN), file: PS, mentions: 'outputs' });
  add('paths', 'dag-output-package-json', { edits: [edit(PS_RUN, 'output_dir: results/pspipe-demo/outputs', 'output_dir: .'), edit(PS, 'outputs: [tod/tod.csv]', 'outputs: [tod/tod.csv, package.json]')], command: dry(PS_RUN), file: PS_RUN, mentions: 'output_dir' });
  const tomlPaths: [string, string, string, string][] = [
    ['context-folder', 'context = "file://data/so/context.yaml"\narea = "file://data/so/area.fits"\npreprocess_config = "file://data/so/preprocess.yaml"\noutput_dir = "results/so-nulltests/maps/full"', 'context = "file://data/so"\narea = "file://data/so/area.fits"\npreprocess_config = "file://data/so/preprocess.yaml"\noutput_dir = "results/so-nulltests/maps/full"', 'context'],
    ['workflow-output-root', 'output_dir = "results/so-nulltests/maps/full"', 'output_dir = "."', 'output_dir'],
    ['workflow-output-above', 'output_dir = "results/so-nulltests/maps/full"', 'output_dir = "../.."', 'output_dir'],
    ['workflow-output-inputs', 'output_dir = "results/so-nulltests/maps/full"', 'output_dir = "data/so"', 'output_dir'],
    ['query-file-folder', 'query = "el_center > 45"', 'query = "file://data/so"', 'query'],
  ];
  for (const [id, from, to, mentions] of tomlPaths) add('paths', `toml-${id}`, { edits: [edit(SO, from, to)], command: dry(SO), file: SO, mentions });
  add('paths', 'ceci-config-missing', { edits: [edit(WL, 'config: pipelines/wlgc/config.yml', 'config: pipelines/wlgc/nope.yml')], command: dry(WL_RUN), file: WL, mentions: 'config' });
  add('paths', 'ceci-module-missing', { edits: [edit(WL, 'modules: ceci_example', 'modules: ceci_nope')], command: dry(WL_RUN), file: WL, mentions: 'modules' });
  add('paths', 'ceci-python-path-missing', { edits: [edit(WL, '  - pipelines/wlgc/python', '  - pipelines/wlgc/nope')], command: dry(WL_RUN), file: WL, mentions: /python_paths|modules/ });
  add('paths', 'stage-types-missing', { edits: [edit(PZ, 'modules: photoz_stages', 'modules: photoz_nope')], command: dry(PZ_RUN), file: PZ, mentions: 'modules' });
  add('paths', 'pipeline-missing', { edits: [edit(PZ_RUN, 'pipelines: photoz', 'pipelines: photoz-nope')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'photoz-nope' });
  add('paths', 'pipeline-dotdot', { edits: [edit(PZ_RUN, 'pipelines: photoz', 'pipelines: ../../etc')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'pipelines' });
}

// ------------------------------------------------------------------------------- ownership
{
  add('ownership', 'two-runs-one-output-dir', { edits: [edit(PZ_OBS, 'output_dir: results/photoz-observed/outputs', 'output_dir: results/photoz-sim/outputs')], command: dry(PZ_OBS), file: PZ_OBS, mentions: 'photoz-sim' });
  add('ownership', 'two-runs-one-log-dir', { edits: [edit(PZ_OBS, 'log_dir: results/photoz-observed/logs', 'log_dir: results/photoz-sim/logs')], command: dry(PZ_OBS), file: PZ_OBS, mentions: 'photoz-sim' });
  add('ownership', 'output-dir-inside-other-run', { edits: [edit(PZ_OBS, 'output_dir: results/photoz-observed/outputs', 'output_dir: results/photoz-sim/outputs/obs')], command: dry(PZ_OBS), file: PZ_OBS, mentions: 'photoz-sim' });
  add('ownership', 'log-dir-in-other-outputs', { edits: [edit(PZ_OBS, 'log_dir: results/photoz-observed/logs', 'log_dir: results/photoz-sim/outputs')], command: dry(PZ_OBS), file: PZ_OBS, mentions: 'photoz-sim' });
  add('ownership', 'other-run-inside-mine', { edits: [edit(PZ_OBS, 'output_dir: results/photoz-observed/outputs', 'output_dir: results')], command: dry(PZ_OBS), file: PZ_OBS, mentions: 'photoz-sim' });
  add('ownership', 'other-runs-see-it', { edits: [edit(PZ_OBS, 'output_dir: results/photoz-observed/outputs', 'output_dir: results/photoz-sim/outputs')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'photoz-observed' });
  add('ownership', 'toml-shares-run-folder', { edits: [edit(SO, 'policy = "time"', 'policy = "time"\noutput_dir = "results/photoz-sim/outputs"')], command: dry(SO), file: SO, mentions: 'photoz-sim' });
  add('ownership', 'dag-two-stages-one-output', { edits: [edit(PS, 'outputs: [maps/split1.csv]', 'outputs: [maps/split0.csv]')], command: dry(PS_RUN), file: PS, mentions: 'also produced' });
  add('ownership', 'dag-output-is-input-file', { edits: [edit(PS_RUN, 'output_dir: results/pspipe-demo/outputs', 'output_dir: pipelines/pspipe'), edit(PS, 'outputs: [tod/tod.csv]', 'outputs: [tod/tod.csv, scripts/spectra.py]')], command: dry(PS_RUN), file: PS_RUN, mentions: 'output_dir' });
  add('ownership', 'dag-output-inside-folder-output', {
    edits: socm(stage('a', 'outputs: [maps]') + stage('b', 'depends: [a]', 'outputs: [maps/x.csv]')),
    command: dry('runs/t.yaml'),
    file: 'pipelines/t/pipeline.yaml',
    mentions: 'inside output',
  });
  add('ownership', 'ceci-two-stages-one-alias', { edits: [edit(PZ, 'aliases: {catalog: target_catalog, photoz: target_photoz}', 'aliases: {catalog: target_catalog, photoz: test_photoz}')], command: dry(PZ_RUN), file: PZ, mentions: /test_photoz|aliases/ });
  add('ownership', 'ceci-alias-onto-input', { edits: [edit(PZ_RUN, 'output_dir: results/photoz-sim/outputs', 'output_dir: data/photoz/sim'), edit(PZ, 'aliases: {catalog: target_catalog, photoz: target_photoz}', 'aliases: {catalog: target_catalog, photoz: spec}')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'output_dir' });
  add('ownership', 'custom-workflow-output-outside', { edits: customWorkflow("name: 'my-flow', argv: ['true'], outputs: ['package.json']"), command: dry(SO), file: SO, mentions: 'my-flow' });
  add('ownership', 'run-output-dir-runs-folder', { edits: [edit(PZ_RUN, 'output_dir: results/photoz-sim/outputs', 'output_dir: runs')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'output_dir' });
  add('ownership', 'run-output-dir-pipeline-folder', { edits: [edit(PZ_RUN, 'output_dir: results/photoz-sim/outputs', 'output_dir: pipelines/photoz')], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'output_dir' });
  add('ownership', 'log-dir-is-output-dir-of-other', { edits: [edit(PS_RUN, 'log_dir: results/pspipe-demo/logs', 'log_dir: results/wlgc/outputs')], command: dry(PS_RUN), file: PS_RUN, mentions: 'wlgc' });
}

// ------------------------------------------------------------------------------- injection
{
  const substitutions = ['$(touch @PWNED@)', '`touch @PWNED@`', '${IFS}$(touch${IFS}@PWNED@)'];
  substitutions.forEach((s, i) => {
    add('injection', `executable-${i}`, { edits: [edit(PS, 'executable: &python python3 -u', `executable: &python "python3 ${s}"`)], command: dry(PS_RUN), file: PS, mentions: 'executable' });
    add('injection', `stage-name-${i}`, { edits: socm(stage(`"a${s}"`)), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: 'is not a name' });
    add('injection', `partition-${i}`, { edits: [{ file: SITES, text: `sites:\n  x:\n    partition: "debug${s}"\n    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n` }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'partition' });
    add('injection', `account-${i}`, { edits: [{ file: SITES, text: `sites:\n  x:\n    account: "me${s}"\n    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n` }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'account' });
    add('injection', `env-name-${i}`, { edits: socm(stage('a', `environment: {"X${s}": "1"}`)), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: 'environment' });
    add('injection', `alias-${i}`, { edits: [edit(PZ, 'photoz: test_photoz}', `photoz: "t${s}"}`)], command: dry(PZ_RUN), file: PZ, mentions: 'aliases' });
  });
  add('injection', 'partition-newline', { edits: [{ file: SITES, text: 'sites:\n  x:\n    partition: "debug\\n#SBATCH --uid=0"\n    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n' }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'partition' });
  add('injection', 'executable-variable', { edits: [edit(PS, 'executable: &python python3 -u', 'executable: &python "$CONDA_PREFIX/bin/python3 -u"')], command: dry(PS_RUN), file: PS, mentions: 'executable' });
  const queries: [string, string][] = [
    ['attach', "el_center > 45; ATTACH DATABASE '@CANARY@/pwned.db' AS x"],
    ['semicolon', 'el_center > 45; DROP TABLE obs'],
    ['comment', 'el_center > 45 -- and more'],
    ['block-comment', 'el_center > 45 /* x */'],
    ['sub-select', 'obs_id IN (SELECT obs_id FROM obs)'],
    ['escape-where', '1=1) OR (1=1'],
    ['load-extension', "load_extension('@CANARY@/evil.so') IS NULL"],
    ['readfile', "readfile('/etc/passwd') IS NOT NULL"],
    ['pragma', 'el_center > 45 UNION SELECT * FROM pragma_table_info(\'obs\')'],
    ['sqlite-master', 'EXISTS (SELECT 1 FROM sqlite_master)'],
  ];
  for (const [id, q] of queries) add('injection', `query-${id}`, { edits: [edit(SO, 'query = "el_center > 45"', `query = "${q}"`)], command: dry(SO), file: SO, mentions: 'query' });
  add('injection', 'wafer-name-from-obsdb', {
    edits: [{ file: OBSDB, sql: ["UPDATE obs SET wafer_slots_list = wafer_slots_list || ',ws$(touch${IFS}@PWNED@)'"] }],
    command: dry(SO),
    file: SO,
    mentions: /ws\$\(touch/,
  });
  add('injection', 'wafer-name-dotdot', {
    edits: [{ file: OBSDB, sql: ["UPDATE obs SET wafer_slots_list = wafer_slots_list || ',../../../x/w'"] }],
    command: dry(SO),
    file: SO,
    mentions: '../../../x/w',
  });
}

// ------------------------------------------------------------------------------ exhaustion
{
  const bomb = (depth: number) => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < depth; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    return lines.join('\n') + '\n';
  };
  add('exhaustion', 'alias-bomb-pipeline', { edits: [{ file: PS, text: `${bomb(9)}${'stages:\n'}${stage('a')}` }], command: dry(PS_RUN), file: PS, mentions: /alias/ });
  add('exhaustion', 'alias-bomb-run', { edits: [{ file: PZ_RUN, append: `description: x\nx_bomb:\n${bomb(9).replace(/^/gm, '  ')}` }], command: dry(PZ_RUN), file: PZ_RUN, mentions: /alias/ });
  add('exhaustion', 'alias-bomb-socm-campaign', { edits: [{ file: PS, text: `campaign:\n  deadline: 1h\n${bomb(9).replace(/^/gm, '  ')}stages:\n${stage('a')}` }], command: plan(PS), file: PS, mentions: /alias/ });
  add('exhaustion', 'alias-bomb-context', { edits: [{ file: CONTEXT, text: `obsdb: obsdb.sqlite\n${bomb(9)}` }], command: dry(SO), file: SO, mentions: /alias/ });
  const big: [string, string, string, string][] = [
    ['nsplits-billion', 'nsplits = 4', 'nsplits = 1000000000', 'nsplits'],
    ['nsplits-10001', 'nsplits = 4', 'nsplits = 10001', 'nsplits'],
    ['chunk-nobs-huge', 'chunk_nobs = 10', 'chunk_nobs = 1e300', 'chunk_nobs'],
    ['requested-resources-huge', 'requested_resources = 2 ', 'requested_resources = 1e300 ', 'requested_resources'],
    ['threads-huge', 'threads = 2', 'threads = 1000000000', 'threads'],
  ];
  for (const [id, from, to, mentions] of big) add('exhaustion', `toml-${id}`, { edits: [edit(SO, from, to)], command: dry(SO), file: SO, mentions });
  const dagBig: [string, string][] = [
    ['ranks', 'ranks: 1000000000'],
    ['threads', 'threads: 1000000000'],
    ['memory', 'memory: 1e30G'],
  ];
  for (const [id, v] of dagBig) add('exhaustion', `dag-${id}-huge`, { edits: [edit(PS, 'resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m}', `resources: &small {memory: 512M, ranks: 1, threads: 1, runtime: 1m, ${v}}`)], command: dry(PS_RUN), file: PS, mentions: id });
  add('exhaustion', 'dag-nodes-huge', { edits: socm(stage('a', 'resources: {nodes: 1000000000}')), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: 'nodes' });
  add('exhaustion', 'retries-count-huge', { edits: [{ file: PZ_RUN, append: 'retries: {count: 1e12}\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'retries.count' });
  add('exhaustion', 'retries-multiplier-huge', { edits: [{ file: PZ_RUN, append: 'retries: {count: 2, walltime_multiplier: 1e9}\n' }], command: dry(PZ_RUN), file: PZ_RUN, mentions: 'walltime_multiplier' });
  add('exhaustion', 'site-count-billion', { edits: [{ file: SITES, text: 'sites:\n  x:\n    node_classes:\n      - {name: a, count: 1000000000, cores: 4, memory: 8G}\n' }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'count' });
  add('exhaustion', 'site-cores-billion', { edits: [{ file: SITES, text: 'sites:\n  x:\n    node_classes:\n      - {name: a, count: 2, cores: 1000000000, memory: 8G}\n' }], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions: 'cores' });
  const cycle = (n: number) => {
    const lines = [];
    for (let i = 0; i < n; i++) lines.push(`  s${i}:\n    executable: sh\n    depends: [s${(i + 1) % n}]\n`);
    return lines.join('');
  };
  add('exhaustion', 'cycle-50000', { edits: socm(cycle(50_000)), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: /cycle/ });
  add('exhaustion', 'cycle-self', { edits: socm(stage('a', 'depends: [a]')), command: dry('runs/t.yaml'), file: 'pipelines/t/pipeline.yaml', mentions: /cycle|itself/ });
  add('exhaustion', 'query-recursive-cte', {
    edits: [edit(SO, 'query = "el_center > 45"', 'query = "EXISTS (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 1 FROM c WHERE x < 0)"')],
    command: dry(SO),
    file: SO,
    mentions: 'query',
  });
  add('exhaustion', 'query-randomblob', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "length(randomblob(2000000000)) > 0"')], command: dry(SO), file: SO, mentions: 'query' });
  add('exhaustion', 'query-zeroblob', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "length(zeroblob(2000000000)) > 0"')], command: dry(SO), file: SO, mentions: 'query' });
  add('exhaustion', 'query-huge-like', { edits: [edit(SO, 'query = "el_center > 45"', `query = "obs_id LIKE '${'%a'.repeat(50_000)}'"`)], command: dry(SO), file: SO, mentions: 'query' });
}

// ----------------------------------------------------------------------------------- obsdb
{
  const dbs: [string, string[], string | RegExp][] = [
    ['no-obs-table', ['ALTER TABLE obs RENAME TO observations'], 'obs'],
    ['no-pwv-column', ['ALTER TABLE obs DROP COLUMN pwv'], 'pwv'],
    ['pwv-null', ['UPDATE obs SET pwv = NULL WHERE rowid % 3 = 0'], 'pwv'],
    ['pwv-text', ["UPDATE obs SET pwv = 'dry' WHERE rowid % 5 = 0"], 'pwv'],
    ['timestamp-text', ["UPDATE obs SET timestamp = '2024-01-01T00:00:00' WHERE rowid % 7 = 0"], 'timestamp'],
    ['timestamp-null', ['UPDATE obs SET timestamp = NULL WHERE rowid % 7 = 0'], 'timestamp'],
    ['no-timestamp-column', ['ALTER TABLE obs DROP COLUMN timestamp'], 'timestamp'],
    ['az-center-text', ["UPDATE obs SET az_center = 'north' WHERE rowid % 4 = 0"], 'az_center'],
    ['az-center-null', ['UPDATE obs SET az_center = NULL'], 'az_center'],
    ['no-wafer-column', ['ALTER TABLE obs DROP COLUMN wafer_slots_list'], 'wafer_slots_list'],
    ['wafer-leading-dot', ["UPDATE obs SET wafer_slots_list = wafer_slots_list || ',.ws9'"], '.ws9'],
    ['wafer-long', [`UPDATE obs SET wafer_slots_list = wafer_slots_list || ',${'w'.repeat(120)}'`], 'www'],
    ['obs-id-slash', ["UPDATE obs SET obs_id = '../../' || obs_id WHERE rowid IN (SELECT rowid FROM obs LIMIT 3)"], 'obs_id'],
    ['empty-obs', ['DELETE FROM obs'], /obs|observation/],
  ];
  // An obsdb's mistakes are located at the table of the workflow that reads it.
  for (const [id, sql, mentions] of dbs) add('obsdb', id, { edits: [{ file: OBSDB, sql }], command: dry(SO), file: SO, mentions });
  add('obsdb', 'not-sqlite', { edits: [{ file: OBSDB, text: 'obs_id,pwv\nx,1\n' }], command: dry(SO), file: SO, mentions: /SQLite|database/ });
  add('obsdb', 'empty-file', { edits: [{ file: OBSDB, text: '' }], command: dry(SO), file: SO, mentions: /obs|database/ });
  add('obsdb', 'context-obsdb-folder', { edits: [edit(CONTEXT, 'obsdb: obsdb.sqlite', 'obsdb: .')], command: dry(SO), file: SO, mentions: 'obsdb' });
  add('obsdb', 'context-obsdb-number', { edits: [edit(CONTEXT, 'obsdb: obsdb.sqlite', 'obsdb: 5')], command: dry(SO), file: SO, mentions: 'obsdb' });
  add('obsdb', 'context-no-obsdb', { edits: [edit(CONTEXT, 'obsdb: obsdb.sqlite', 'metadata: []')], command: dry(SO), file: SO, mentions: 'obsdb' });
  add('obsdb', 'query-unknown-column', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "el_centre > 45"')], command: dry(SO), file: SO, mentions: 'el_centre' });
  add('obsdb', 'query-unknown-function', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "sqrt(el_center) > 6"')], command: dry(SO), file: SO, mentions: 'query' });
  add('obsdb', 'query-syntax', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "el_center >> > 45"')], command: dry(SO), file: SO, mentions: 'query' });
  add('obsdb', 'query-selects-nothing', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "el_center > 95"')], command: dry(SO), file: SO, mentions: 'query' });
  add('obsdb', 'query-file-passwd', { edits: [edit(SO, 'query = "el_center > 45"', 'query = "file:///etc/passwd"')], command: dry(SO), file: SO, mentions: 'query' });
}

// ------------------------------------------------------------------------------- templates
{
  const slurmSite = { file: SITES, text: 'sites:\n  x:\n    backend: slurm\n    partition: debug\n    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n' };
  const templates: [string, string, string | RegExp][] = [
    ['unclosed-block', '#!/bin/bash\n{{#if job.qos}}\n#SBATCH --qos={{job.qos}}\n{{> run-stage}}\n', /if|Parse|Expecting/],
    ['unclosed-mustache', '#!/bin/bash\n#SBATCH --job-name={{job.name\n{{> run-stage}}\n', /Parse|Expecting/],
    ['unknown-field', '#!/bin/bash\n#SBATCH --job-name={{job.nmae}}\n{{> run-stage}}\n', 'nmae'],
    ['unknown-helper', '#!/bin/bash\n#SBATCH --job-name={{shout job.name}}\n{{> run-stage}}\n', 'shout'],
    ['unknown-partial', '#!/bin/bash\n{{> run-stages}}\n', 'run-stage'],
    ['no-run-stage', '#!/bin/bash\n#SBATCH --job-name={{job.name}}\nsrun {{#each stage.argv}}{{this}} {{/each}}\n', 'run-stage'],
    ['binary', '\u0000\u0001{{\u0000', /.+/],
    ['raw-no-value', '#!/bin/bash\n#SBATCH --job-name={{raw}}\n{{> run-stage}}\n', 'raw'],
  ];
  for (const [id, text, mentions] of templates) add('templates', `site-${id}`, { edits: [slurmSite, { file: 'sbatch/sites/x.hbs', text }], command: plan(PS_RUN, '--site', 'x'), file: 'sbatch/sites/x.hbs', mentions });
  for (const [id, text, mentions] of templates.slice(0, 4)) add('templates', `stage-${id}`, { edits: [slurmSite, { file: 'sbatch/stages/spectra.hbs', text }], command: plan(PS_RUN, '--site', 'x'), file: 'sbatch/stages/spectra.hbs', mentions });
}

// ----------------------------------------------------------------------------------- sites
{
  const site = (body: string) => ({ file: SITES, text: `sites:\n  x:\n${body}` });
  const nodes = '    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n';
  const bad: [string, string, string][] = [
    ['backend-unknown', `    backend: pbs\n${nodes}`, 'backend'],
    ['node-classes-empty', '    node_classes: []\n', 'node_classes'],
    ['count-zero', '    node_classes:\n      - {name: a, count: 0, cores: 4, memory: 8G}\n', 'count'],
    ['cores-negative', '    node_classes:\n      - {name: a, count: 1, cores: -4, memory: 8G}\n', 'cores'],
    ['cores-fraction', '    node_classes:\n      - {name: a, count: 1, cores: 2.5, memory: 8G}\n', 'cores'],
    ['memory-zero', '    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 0M}\n', 'memory'],
    ['memory-word', '    node_classes:\n      - {name: a, count: 1, cores: 4, memory: plenty}\n', 'memory'],
    ['speed-zero', '    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G, speed: 0}\n', 'speed'],
    ['node-class-unknown-key', '    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G, gpus: 4}\n', 'gpus'],
    ['node-class-twice', '    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 8G}\n      - {name: a, count: 1, cores: 8, memory: 8G}\n', 'name'],
    ['qos-walltime-word', `${nodes}    qos:\n      short: {walltime: forever}\n`, 'walltime'],
    ['qos-max-jobs-zero', `${nodes}    qos:\n      short: {walltime: 1h, max_jobs: 0}\n`, 'max_jobs'],
    ['qos-empty', `${nodes}    qos: {}\n`, 'qos'],
    ['retries-huge', `${nodes}    retries: {count: 1000000000000}\n`, 'retries'],
    ['unknown-key', `${nodes}    partitions: debug\n`, 'partitions'],
    ['partition-space', `    partition: "de bug"\n${nodes}`, 'partition'],
    ['account-quote', `    account: "a'b"\n${nodes}`, 'account'],
  ];
  for (const [id, body, mentions] of bad) add('sites', id, { edits: [site(body)], command: plan(PS_RUN, '--site', 'x'), file: SITES, mentions });
  add('sites', 'sites-list', { edits: [{ file: SITES, text: 'sites:\n  - x\n' }], command: plan(PS_RUN), file: SITES, mentions: 'sites' });
  add('sites', 'sites-syntax', { edits: [{ file: SITES, text: 'sites:\n  x: {backend: local\n' }], command: plan(PS_RUN), file: SITES, mentions: '' });
  add('sites', 'unknown-site-flag', { edits: [], command: plan(PS_RUN, '--site', 'nowhere'), file: '--site', mentions: 'nowhere' });
  add('sites', 'unknown-site-run-file', { edits: [{ file: PZ_RUN, append: 'site: nowhere\n' }], command: plan(PZ_RUN), file: PZ_RUN, mentions: 'nowhere' });
  add('sites', 'unknown-resource-toml', { edits: [edit(SO, 'resource = "local"', 'resource = "nowhere"')], command: plan(SO), file: SO, mentions: 'nowhere' });
  add('sites', 'unknown-resource-dag', { edits: [edit(DAG, 'resource : tiger3', 'resource : nowhere')], command: plan(DAG), file: DAG, mentions: 'nowhere' });
  add('sites', 'stage-bigger-than-site', { edits: [site('    node_classes:\n      - {name: a, count: 1, cores: 4, memory: 100M}\n')], command: plan(PS_RUN, '--site', 'x'), file: PS, mentions: 'fits no node' });
}

// ---------------------------------------------------------- through nx, as a run is started
{
  const nxRun = (run: string) => ['nx', 'run-many', '-t', 'stage', `--projects=tag:run:${run}`, '--outputStyle=static'];
  add('paths', 'nx-output-dir-inputs', { edits: [edit(PZ_RUN, 'output_dir: results/photoz-sim/outputs', 'output_dir: data/photoz/sim')], command: nxRun('photoz-sim'), file: PZ_RUN, mentions: 'output_dir' });
  add('injection', 'nx-executable-substitution', { edits: [edit(PS, 'executable: &python python3 -u', 'executable: &python "python3 $(touch @PWNED@)"')], command: nxRun('pspipe-demo'), file: PS, mentions: 'executable' });
  add('exhaustion', 'nx-query-recursive', {
    edits: [edit(SO, 'query = "el_center > 45"', 'query = "EXISTS (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 1 FROM c WHERE x < 0)"')],
    command: nxRun('so-nulltests'),
    file: SO,
    mentions: 'query',
  });
  // Files a run reads that are not here: a warning at load (it may be planned away from them), an error before a stage runs.
  add('paths', 'nx-input-missing', { edits: [edit(PZ_RUN, 'data/photoz/sim/spec.csv', 'data/photoz/sim/spec-nope.csv')], command: nxRun('photoz-sim'), file: PZ, mentions: 'spec-nope.csv' });
  const soMissing: [string, Edit][] = [
    ['context', edit(SO, 'context = "file://data/so/context.yaml"\narea = "file://data/so/area.fits"\npreprocess_config = "file://data/so/preprocess.yaml"\noutput_dir = "results/so-nulltests/maps/full"', 'context = "file://data/so/nope.yaml"\narea = "file://data/so/area.fits"\npreprocess_config = "file://data/so/preprocess.yaml"\noutput_dir = "results/so-nulltests/maps/full"')],
    ['area', edit(SO, 'area = "file://data/so/area.fits"\npreprocess_config = "file://data/so/preprocess.yaml"\noutput_dir = "results/so-nulltests/maps/full"', 'area = "file://data/so/nope.fits"\npreprocess_config = "file://data/so/preprocess.yaml"\noutput_dir = "results/so-nulltests/maps/full"')],
    ['query-file', edit(SO, 'query = "el_center > 45"', 'query = "file://data/so/nope.txt"')],
    ['obsdb', { file: OBSDB, remove: true }],
  ];
  for (const [id, e] of soMissing) add('obsdb', `nx-${id}-missing`, { edits: [e], command: nxRun('so-nulltests'), file: SO, mentions: 'does not exist' });
  add('ownership', 'nx-two-runs-one-output-dir', { edits: [edit(PZ_OBS, 'output_dir: results/photoz-observed/outputs', 'output_dir: results/photoz-sim/outputs')], command: nxRun('photoz-sim'), file: PZ_RUN, mentions: 'photoz-observed' });
}

export const CASES: readonly BadCase[] = cases;

/** The commands of the cases with no edit: each must succeed on the shipped examples. */
export const GOOD_COMMANDS: readonly string[][] = [dry(PS_RUN), dry(PZ_RUN), dry(PZ_OBS), dry(WL_RUN), dry(SO), plan(PS_RUN), plan(SO), plan(DAG), plan(PZ_RUN)];
