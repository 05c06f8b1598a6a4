import { readFileSync } from 'node:fs';
import { readYamlFile, type KeyPath, type YamlFile } from './yaml-file';

/** A run, pipeline or campaign file with line lookup by key path: YAML, or TOML (line lookup only, `data` unset). */
export function readSourceFile(absPath: string, file: string): YamlFile {
  if (!file.endsWith('.toml')) return readYamlFile(absPath, file);
  return { file, data: undefined, lineOf: tomlLines(readFileSync(absPath, 'utf8')), warnings: [] };
}

/** Line numbers of TOML tables and keys, by key path (what smol-toml does not keep). */
export function tomlLines(text: string): (path: KeyPath) => number | undefined {
  const lines = new Map<string, number>();
  const unquote = (k: string) => k.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  let table: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    const header = /^\[\[?([^\]]+)\]\]?$/.exec(line);
    if (header) {
      table = header[1].split('.').map(unquote);
      if (!lines.has(table.join('\0'))) lines.set(table.join('\0'), i + 1);
      return;
    }
    const kv = /^([^=]+?)\s*=/.exec(line);
    if (kv) {
      const key = [...table, ...kv[1].split('.').map(unquote)].join('\0');
      if (!lines.has(key)) lines.set(key, i + 1);
    }
  });
  return (path) => {
    // The key, else the closest enclosing table that has a line.
    for (let n = path.length; n > 0; n--) {
      const l = lines.get(path.slice(0, n).map(String).join('\0'));
      if (l !== undefined) return l;
    }
    return undefined;
  };
}
