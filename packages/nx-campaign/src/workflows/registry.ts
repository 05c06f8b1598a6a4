import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { CampaignError } from '../format/errors';
import { noteFile } from '../util/consulted';
import { BUILTIN_WORKFLOWS } from './builtins';
import type { WorkflowType } from './types';

/** Where a workspace keeps its own workflow types: `workflows/<name>.ts` (or .js, .cjs). */
export const CUSTOM_DIR = 'workflows';
const EXTENSIONS = ['ts', 'js', 'cjs'];

/** Names of the built-in workflow types, for messages. */
export const BUILTIN_NAMES = BUILTIN_WORKFLOWS.map((w) => w.name);

/** The workflow type `name`: built in, else `workflows/<name>.ts|js|cjs` in the workspace, else undefined. */
export function workflowType(wsRoot: string, name: string): WorkflowType | undefined {
  const builtin = BUILTIN_WORKFLOWS.find((w) => w.name === name);
  if (builtin) return builtin;
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) return undefined;
  for (const ext of EXTENSIONS) {
    const rel = `${CUSTOM_DIR}/${name}.${ext}`;
    noteFile(rel); // present or not, it decides what the campaign loads
    const file = join(wsRoot, rel);
    if (existsSync(file)) return loadCustom(wsRoot, rel, file, name);
  }
  return undefined;
}

/** Compile (TypeScript through the workspace's own `typescript`) and evaluate a workflow module. */
function loadCustom(wsRoot: string, rel: string, file: string, name: string): WorkflowType {
  let code = readFileSync(file, 'utf8');
  if (file.endsWith('.ts')) {
    let ts: typeof import('typescript');
    try {
      ts = require(require.resolve('typescript', { paths: [wsRoot] })) as typeof import('typescript');
    } catch {
      throw new CampaignError(`${rel}: a TypeScript workflow needs the typescript package in the workspace\n  fix: npm install -D typescript, or write ${CUSTOM_DIR}/${name}.js`);
    }
    code = ts.transpileModule(code, { fileName: file, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  }
  const m = new Module(file, module);
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(join(wsRoot, CUSTOM_DIR));
  try {
    (m as unknown as { _compile(code: string, file: string): void })._compile(code, file);
  } catch (e) {
    throw new CampaignError(`${rel}: cannot load the workflow type: ${(e as Error).message}`);
  }
  const exported = m.exports as { default?: WorkflowType };
  const w = exported.default ?? (m.exports as WorkflowType);
  if (!w || typeof w.stages !== 'function' || !w.options || typeof (w.options as { safeParse?: unknown }).safeParse !== 'function') {
    throw new CampaignError(`${rel}: export default defineWorkflow({ name, description, options: z.strictObject({...}), stages(options, ctx) { ... } })\n  fix: see "Custom workflow types" in README.md, or run nx g nx-campaign:workflow ${name}`);
  }
  if (w.name !== name) throw new CampaignError(`${rel}: its workflow is named "${w.name}"; the file name says "${name}"\n  fix: make them the same`);
  return w;
}
