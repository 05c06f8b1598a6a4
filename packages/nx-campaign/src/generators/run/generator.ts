import { posix } from 'node:path';
import type { Tree } from '@nx/devkit';

export interface RunGeneratorSchema {
  name: string;
  /** Comma-separated pipeline names. */
  pipelines: string;
  site?: string;
  backend?: 'local' | 'slurm' | 'allocation';
}

/** runs/<name>.yaml over existing pipelines, with the default folders. */
export default function runGenerator(tree: Tree, o: RunGeneratorSchema): void {
  const file = posix.join('runs', `${o.name}.yaml`);
  if (tree.exists(file)) throw new Error(`${file} exists already`);
  const pipelines = o.pipelines.split(',').map((p) => p.trim()).filter(Boolean);
  const missing = pipelines.filter((p) => !tree.exists(posix.join('pipelines', p, 'pipeline.yaml')));
  if (missing.length) throw new Error(`no pipelines/${missing[0]}/pipeline.yaml: nx g nx-campaign:pipeline ${missing[0]} first`);
  const lines = [
    `# Run ${o.name}: npx nx run-many -t stage --projects=tag:run:${o.name}`,
    `pipelines: ${pipelines.length === 1 ? pipelines[0] : `[${pipelines.join(', ')}]`}`,
    'output_dir: results/{run}/outputs',
    'log_dir: results/{run}/logs',
    'resume: resume',
    'inputs: {}                  # tag: workspace-relative file, for inputs no stage produces',
    'config: {}                  # per-stage overrides, as in config.yaml',
    ...(o.site ? [`site: ${o.site}`] : []),
    ...(o.backend ? [`backend: ${o.backend}`] : []),
  ];
  tree.write(file, `${lines.join('\n')}\n`);
}
