import { posix } from 'node:path';
import type { Tree } from '@nx/devkit';
import stageGenerator from '../stage/generator';

export interface PipelineGeneratorSchema {
  name: string;
  /** Its first stage (default: `make`), which writes `result.txt` from a `message` option. */
  stage?: string;
}

/** pipelines/<name>/: pipeline.yaml (ceci dialect), its stage-type module, config.yaml, and a first stage. */
export default function pipelineGenerator(tree: Tree, o: PipelineGeneratorSchema): void {
  const dir = posix.join('pipelines', o.name);
  if (tree.exists(posix.join(dir, 'pipeline.yaml'))) throw new Error(`${dir}/pipeline.yaml exists already`);
  tree.write(posix.join(dir, 'pipeline.yaml'), `# ${o.name} (ceci dialect). Add stages with nx g nx-campaign:stage <name> --pipeline=${o.name}.\nmodules: ${o.name.replace(/-/g, '_')}_stages\nconfig: config.yaml\nstages:\n`);
  tree.write(posix.join(dir, 'config.yaml'), `# One section per stage; \`global\` applies to every stage whose type declares the option.\nglobal: {}\n`);
  stageGenerator(tree, { name: o.stage ?? 'make', pipeline: o.name, outputs: 'result:txt', options: 'message:str=hello' });
}
