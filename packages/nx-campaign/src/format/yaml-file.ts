import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { CORE_SCHEMA, load as loadFast } from 'js-yaml';
import { noteFile } from '../util/consulted';
import { configError, type Problem } from './errors';

export type KeyPath = readonly (string | number)[];

/** A parsed YAML file that can say on which line a value sits. */
export interface YamlFile {
  /** Path as shown to the user (workspace-relative). */
  file: string;
  data: unknown;
  lineOf(path: KeyPath): number | undefined;
  warnings: Problem[];
}

export function formatKeyPath(path: KeyPath): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');
}

export function readYamlFile(absPath: string, file: string): YamlFile {
  noteFile(file);
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch {
    throw configError({ file, message: 'file not found', fix: `create ${file} or correct the name that points to it` });
  }
  return parseYaml(text, file);
}

/**
 * Parse with js-yaml (8x faster than yaml on a 1000-stage pipeline, measured) and build
 * yaml's Document, which knows lines, only when a line is asked for. A file js-yaml
 * refuses (a syntax error, or a repeated key, which socm's own example has) goes straight
 * to yaml, which locates the error or warns at the repeated key.
 */
export function parseYaml(text: string, file: string): YamlFile {
  let data: unknown;
  try {
    data = loadFast(text, { schema: CORE_SCHEMA }) ?? {};
  } catch {
    return parseWithLines(text, file);
  }
  // js-yaml shares an alias's node, so a few nested aliases make an object graph that every later
  // walk expands exponentially (a "billion laughs"): yaml, which limits that, reads such a file.
  if (ALIAS.test(text) && !withinNodes(data, MAX_NODES)) return parseWithLines(text, file);
  let located: YamlFile | undefined;
  return { file, data, warnings: [], lineOf: (path) => (located ??= parseWithLines(text, file)).lineOf(path) };
}

/** An alias (`*name`) where YAML allows one. */
const ALIAS = /(?:^|[\s[{,:-])\*[^\s,[\]{}]/;
/** Nodes a file may hold once its aliases are expanded. */
const MAX_NODES = 1_000_000;

/** `data` walked as a tree (shared nodes counted each time) has at most `budget` nodes. */
function withinNodes(data: unknown, budget: number): boolean {
  const stack = [data];
  while (stack.length) {
    const v = stack.pop();
    if (--budget < 0) return false;
    if (v && typeof v === 'object') for (const child of Object.values(v)) stack.push(child);
  }
  return true;
}
/** What all aliases of a file may expand to, in nodes: far above any real file, far below a bomb. */
const MAX_ALIAS_COUNT = 10000;

function parseWithLines(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  // uniqueKeys off: socm's own examples repeat keys; we warn instead of refusing.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const line = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw configError({ file, line: line(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0]}`, fix: 'correct the YAML syntax at that line' });
  }
  const warnings: Problem[] = [];
  findRepeatedKeys(doc.contents, [], file, line, warnings);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    // yaml says so with a ReferenceError: an alias to no anchor, or aliases that expand too far.
    if (!(e instanceof ReferenceError)) throw e;
    const excessive = /Excessive alias count/.test(e.message);
    const anchor = /(?:Unresolved alias.*|Aliased anchor not found): (\S+)/.exec(e.message)?.[1];
    const at = anchor ? text.split('\n').findIndex((l) => l.includes(`*${anchor}`)) + 1 : undefined;
    throw configError({ file, line: at || undefined, message: excessive ? `its aliases expand to more than ${MAX_ALIAS_COUNT} nodes` : `alias *${anchor ?? '?'} names no anchor`, fix: excessive ? 'write the values out, or nest fewer aliases' : `define &${anchor ?? 'name'} before it is used, or correct the name` });
  }
  return {
    file,
    data,
    warnings,
    lineOf: (path) => line(locate(doc, path)),
  };
}

/** key -> last pair with that key, per mapping: built on first look-up, so a look-up is O(depth). */
const pairIndex = new WeakMap<YAMLMap, Map<unknown, Pair>>();

function pairOf(map: YAMLMap, key: string | number): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) if (isScalar(p.key)) index.set(p.key.value, p);
    pairIndex.set(map, index);
  }
  return index.get(key);
}

/** Offset of the key (for mappings) or item at `path`, falling back to its closest existing parent. */
function locate(doc: Document, path: KeyPath): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = pairOf(node, key);
      if (!pair) return offset;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function findRepeatedKeys(node: unknown, path: (string | number)[], file: string, line: (o?: number) => number | undefined, out: Problem[]) {
  if (isMap(node)) {
    const seen = new Map<unknown, number | undefined>();
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = pair.key.value as string;
      const here = line(pair.key.range?.[0]);
      if (seen.has(key)) {
        out.push({
          file,
          line: here,
          key: formatKeyPath([...path, key]),
          message: `key "${key}" is repeated (first at line ${seen.get(key)}); the last one is used, as socm does`,
          fix: 'delete one of the two',
        });
      }
      seen.set(key, here);
      findRepeatedKeys(pair.value, [...path, key], file, line, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => findRepeatedKeys(item, [...path, i], file, line, out));
  }
}
