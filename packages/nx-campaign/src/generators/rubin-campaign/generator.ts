import { posix } from 'node:path';
import type { Tree } from '@nx/devkit';
import { loadLsstPipeline } from '../../config/lsst-pipeline';

export interface RubinCampaignGeneratorSchema {
  name: string;
  pipeline: string;
  butler?: string;
  inputs?: string;
  query?: string;
  output?: string;
  bands?: string;
  mode?: 'pipetask' | 'bps';
  site?: string;
}

/** runs/<name>.yaml: one step per step of the pipeline (its `steps:`, else its subsets named step*), in order. */
export default function rubinCampaignGenerator(tree: Tree, o: RubinCampaignGeneratorSchema): void {
  const file = posix.join('runs', `${o.name}.yaml`);
  if (tree.exists(file)) throw new Error(`${file} exists already`);
  const p = loadLsstPipeline(o.pipeline, { cwd: tree.root });
  const steps = p.steps.length ? p.steps.map((s) => s.label) : [...p.subsets.keys()].filter((s) => /^step/i.test(s));
  if (!steps.length) throw new Error(`${o.pipeline} declares no steps and no subsets named step*: add subsets (step1: [labels]) to it first`);
  const bands = (o.bands ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `# Rubin campaign ${o.name} (see "Rubin campaigns" in README.md):`,
    `#   npx nx run-many -t stage --projects=tag:run:${o.name}   npx campaign report ${o.name}`,
    `pipeline: ${o.pipeline}`,
    `butler: ${o.butler ?? 'repo'}`,
    `inputs: [${(o.inputs ?? 'HSC/defaults').split(',').map((c) => c.trim()).join(', ')}]`,
    `query: ${q(o.query ?? '')}`,
    `output: ${o.output || `u/${process.env.USER || 'me'}/${o.name}`}`,
    `mode: ${o.mode ?? 'pipetask'}`,
    'resources: {cores: 1, memory: 4G, runtime: 1h}',
    ...(o.site ? [`site: ${o.site}`] : []),
    'steps:',
    ...steps.flatMap((s) => [
      `  - name: ${s}`,
      ...(bands.length ? [`    split: {by: values, dimension: band, values: [${bands.join(', ')}]}`] : []),
      '    produces: []              # dataset types the step must write: checked after each group',
    ]),
  ];
  tree.write(file, `${lines.join('\n')}\n`);
}
