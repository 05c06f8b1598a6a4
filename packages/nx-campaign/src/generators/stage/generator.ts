import { posix } from 'node:path';
import type { Tree } from '@nx/devkit';
import { parseDocument } from 'yaml';

export interface StageGeneratorSchema {
  name: string;
  pipeline: string;
  /** `tag:ext,...`: files it reads (outputs of earlier stages, or run inputs). */
  inputs?: string;
  /** `tag:ext,...`: files it writes. */
  outputs?: string;
  /** `key:type=default,...` (type str, int, float, bool). */
  options?: string;
}

const TYPES = new Set(['str', 'int', 'float', 'bool']);
const className = (name: string) => name.replace(/(^|[_-])(\w)/g, (_, __, c: string) => c.toUpperCase());

function pairs(text: string | undefined, what: string): [string, string][] {
  if (!text) return [];
  return text.split(',').map((p) => {
    const [k, v] = p.split(':').map((x) => x.trim());
    if (!k || !v || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`--${what}: "${p}" is not name:value`);
    return [k, v];
  });
}

/** The stage's Python script: parses its arguments as declared and writes each output. */
function script(name: string, inputs: [string, string][], outputs: [string, string][], options: { key: string; type: string; value: string }[]): string {
  const py = { str: 'str', int: 'int', float: 'float' } as Record<string, string>;
  // Options as ceci's argparse takes them: --flag / --no-flag for booleans.
  const usage = (o: { key: string; type: string; value: string }) => (o.type === 'bool' ? ` [--${o.key} | --no-${o.key}]` : ` [--${o.key}=${o.value}]`);
  const parse = (o: { key: string; type: string }) => (o.type === 'bool' ? `action=argparse.BooleanOptionalAction` : `type=${py[o.type]}`);
  return `"""${className(name)}: <what it does>.

Usage: python3 -u ${name}.py ${[...inputs, ...outputs].map(([t, e]) => `--${t}=FILE.${e}`).join(' ')}${options.map(usage).join('')}
Reads its inputs, writes every output it declares, exits non-zero on bad arguments.
"""
import argparse
import sys


def main():
    p = argparse.ArgumentParser(prog="${name}.py")
${[...inputs, ...outputs].map(([t]) => `    p.add_argument("--${t}", required=True)`).join('\n')}
${options.map((o) => `    p.add_argument("--${o.key}", ${parse(o)}, required=True)`).join('\n')}
    a = p.parse_args()
    lines = []
${inputs.map(([t]) => `    with open(a.${t}) as f:\n        lines += f.read().splitlines()`).join('\n') || '    pass'}
${outputs.map(([t]) => `    with open(a.${t}, "w") as f:\n        f.write("${name}: " + " ".join(f"{k}={v}" for k, v in sorted(vars(a).items())) + "\\n")\n        f.writelines(l + "\\n" for l in lines)`).join('\n')}
    print(f"${name}: read {len(lines)} line(s)")


if __name__ == "__main__":
    sys.exit(main())
`;
}

/** A stage type in pipelines/<p>/<p>_stages.yaml, its entry in pipeline.yaml, its config section and script. */
export default function stageGenerator(tree: Tree, o: StageGeneratorSchema): void {
  const dir = posix.join('pipelines', o.pipeline);
  const pipelineFile = posix.join(dir, 'pipeline.yaml');
  if (!tree.exists(pipelineFile)) throw new Error(`${pipelineFile} does not exist: nx g nx-campaign:pipeline ${o.pipeline} first`);
  const pipeline = parseDocument(tree.read(pipelineFile, 'utf8')!);
  const modules = String(pipeline.get('modules') ?? `${o.pipeline}_stages`).split(/\s+/)[0];
  const typesFile = posix.join(dir, `${modules}.yaml`);
  const configFile = posix.join(dir, String(pipeline.get('config') ?? 'config.yaml'));
  const stages = (pipeline.toJS() as { stages?: { name: string }[] }).stages ?? [];
  if (stages.some((s) => s.name === o.name)) throw new Error(`${pipelineFile} has a stage ${o.name} already`);
  const inputs = pairs(o.inputs, 'inputs');
  const outputs = pairs(o.outputs ?? 'result:txt', 'outputs');
  const options = pairs(o.options, 'options').map(([key, spec]) => {
    const [type, value = type === 'bool' ? 'false' : type === 'str' ? 'x' : '1'] = spec.split('=');
    if (!TYPES.has(type)) throw new Error(`--options: ${key} has type ${type}; use str, int, float or bool`);
    return { key, type, value };
  });
  const cls = className(o.name);
  const types = tree.exists(typesFile) ? parseDocument(tree.read(typesFile, 'utf8')!) : parseDocument('# Stage types. Scripts are relative to this folder; tags map to file extensions.\n');
  if (types.has(cls)) throw new Error(`${typesFile} has a stage type ${cls} already`);
  types.set(cls, {
    description: `${cls}: <what it does>`,
    script: `scripts/${o.name}.py`,
    ...(inputs.length ? { inputs: Object.fromEntries(inputs) } : {}),
    outputs: Object.fromEntries(outputs),
    ...(options.length ? { config: Object.fromEntries(options.map((x) => [x.key, { type: x.type, required: true, help: `<what ${x.key} means>` }])) } : {}),
    resources: { threads: 1, memory: '512M', runtime: '10m' },
  });
  tree.write(typesFile, types.toString());
  const entries = pipeline.get('stages') as { add(v: unknown): void } | null | undefined;
  if (entries) entries.add(pipeline.createNode({ name: o.name, classname: cls }));
  else pipeline.set('stages', [{ name: o.name, classname: cls }]);
  tree.write(pipelineFile, pipeline.toString());
  if (options.length) {
    const config = tree.exists(configFile) ? parseDocument(tree.read(configFile, 'utf8')!) : parseDocument('{}\n');
    config.set(o.name, Object.fromEntries(options.map((x) => [x.key, x.type === 'str' ? x.value : x.type === 'bool' ? x.value === 'true' : Number(x.value)])));
    tree.write(configFile, config.toString());
  }
  tree.write(posix.join(dir, 'scripts', `${o.name}.py`), script(o.name, inputs, outputs, options));
}
