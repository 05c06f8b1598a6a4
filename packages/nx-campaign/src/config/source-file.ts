import { readFileSync } from 'node:fs';
import { tomlLines } from './campaign-toml';
import { readYamlFile, type YamlFile } from './yaml-file';

/** A run, pipeline or campaign file with line lookup by key path: YAML, or TOML (line lookup only, `data` unset). */
export function readSourceFile(absPath: string, file: string): YamlFile {
  if (!file.endsWith('.toml')) return readYamlFile(absPath, file);
  return { file, data: undefined, lineOf: tomlLines(readFileSync(absPath, 'utf8')), warnings: [] };
}
