import { existsInWorkspace } from '../util/consulted';
import { join } from 'node:path';
import { z } from 'zod';
import { configError } from '../format/errors';
import { environmentSchema, resourcesSchema } from '../format/resources';
import { validate } from '../format/validate';
import { readYamlFile, type YamlFile } from '../format/yaml-file';

/**
 * Stage types (ceci's stage classes) declared in YAML: a "module" named in a ceci
 * pipeline's `modules:` is `<module>.yaml` beside the pipeline, or in the workspace's
 * `stages/` folder when shared by several pipelines.
 */
const optionSchema = z.strictObject({
  type: z.enum(['str', 'int', 'float', 'bool', 'list', 'dict']),
  default: z.unknown().optional(),
  required: z.boolean().optional(),
  help: z.string().optional(),
});
export type ConfigOption = z.output<typeof optionSchema>;

const tagsSchema = z.union([z.array(z.string()).transform((tags) => Object.fromEntries(tags.map((t) => [t, '']))), z.record(z.string(), z.string())]);

const stageTypeSchema = z.strictObject({
  description: z.string().optional(),
  executable: z.string().default('python3 -u'),
  script: z.string().optional(),
  inputs: tagsSchema.default({}),
  /** tag -> file extension; the file is `<tag>.<ext>` in the output folder. */
  outputs: tagsSchema.default({}),
  config: z.record(z.string(), optionSchema).default({}),
  resources: resourcesSchema.optional(),
  environment: environmentSchema.default({}),
});

export interface StageType extends z.output<typeof stageTypeSchema> {
  name: string;
  /** Workspace-relative file that declares it. */
  file: string;
  line?: number;
}

export function loadStageModule(wsRoot: string, file: string): StageType[] {
  const y = readYamlFile(join(wsRoot, file), file);
  const data = validate(z.record(z.string(), z.unknown()), y, y.data, [], () => 'a stage-type file maps each type name to its declaration');
  return Object.entries(data).map(([name, decl]) => {
    const parsed = validate(stageTypeSchema, y, decl, [name], (key) => `see the stage-type format in README.md ("Stage types"); ${key}`);
    checkOptions(y, name, parsed.config);
    return { ...parsed, name, file, line: y.lineOf([name]) };
  });
}

const OPTION_CHECKS: Record<ConfigOption['type'], (v: unknown) => boolean> = {
  str: (v) => typeof v === 'string',
  int: (v) => Number.isInteger(v),
  float: (v) => typeof v === 'number',
  bool: (v) => typeof v === 'boolean',
  list: (v) => Array.isArray(v) || typeof v === 'string',
  dict: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

export function optionTypeMatches(option: ConfigOption, value: unknown): boolean {
  return OPTION_CHECKS[option.type](value);
}

function checkOptions(y: YamlFile, typeName: string, options: Record<string, ConfigOption>) {
  for (const [key, option] of Object.entries(options)) {
    if (option.default !== undefined && !optionTypeMatches(option, option.default)) {
      const path = [typeName, 'config', key, 'default'];
      throw configError({ file: y.file, line: y.lineOf(path), key: path.join('.'), message: `default ${JSON.stringify(option.default)} is not of type ${option.type}`, fix: `give a ${option.type} default or change the type` });
    }
    if (option.default === undefined && !option.required) {
      const path = [typeName, 'config', key];
      throw configError({ file: y.file, line: y.lineOf(path), key: path.join('.'), message: 'option has neither a default nor required: true', fix: 'add `default: <value>` or `required: true`' });
    }
  }
}

/** The YAML file of stage types a pipeline's module names, if there is one: beside the pipeline, else in stages/. */
export function yamlModuleFile(wsRoot: string, pipelineDir: string, module: string): string | undefined {
  return [join(pipelineDir, `${module}.yaml`), join('stages', `${module}.yaml`)].find((c) => existsInWorkspace(wsRoot, c));
}
