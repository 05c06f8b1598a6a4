import { join } from 'node:path';
import { generateFiles, type Tree } from '@nx/devkit';
import { CUSTOM_DIR } from '../../workflows/registry';
import { templatesOf } from '../templates';

export interface WorkflowGeneratorSchema {
  name: string;
  description?: string;
  command?: string;
}

/** workflows/<name>.ts and its test: a workflow type campaign files can name at once. */
export default function workflowGenerator(tree: Tree, o: WorkflowGeneratorSchema): void {
  if (tree.exists(join(CUSTOM_DIR, `${o.name}.ts`))) throw new Error(`${CUSTOM_DIR}/${o.name}.ts exists already`);
  generateFiles(tree, templatesOf('workflow'), CUSTOM_DIR, { name: o.name, description: o.description ?? 'A workflow type of this workspace', command: o.command ?? 'echo', tmpl: '' });
}
