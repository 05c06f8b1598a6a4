/**
 * The folders of src/ import one way, as README.md ("Layout") states: each layer only from
 * layers before it. The Nx glue (last) maps Nx to the domain and nothing in the domain imports
 * Nx. Tests (*.spec.ts) may import anything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Bottom first. */
const DOMAIN = ['util', 'format', 'model', 'graph', 'sites', 'workflows', 'config', 'planning', 'store', 'engine', 'backends', 'commands', 'dashboard'];
/** Nx glue and the command line: they import the domain, never one another (index.ts: the plugin's entry). */
const GLUE = ['cli', 'executors', 'plugins', 'generators', 'testing', 'index.ts'];

/** Nx's packages: `nx`, `nx/...`, `@nx/...`. */
const NX = /^(?:nx(?:\/|$)|@nx\/)/;

interface Edge {
  file: string;
  from: string;
  to: string;
}

/** What is wrong with these imports (file: folder -> folder or package), one line each. */
function layeringProblems(edges: Edge[]): string[] {
  const rank = (folder: string) => DOMAIN.indexOf(folder);
  return edges.flatMap((e) => {
    const where = `${e.file}: ${e.from} -> ${e.to}`;
    if (!DOMAIN.includes(e.from) && !GLUE.includes(e.from)) return [`${where}: ${e.from} is in no layer (add it to DOMAIN or GLUE here and to README.md's Layout)`];
    if (NX.test(e.to)) return GLUE.includes(e.from) ? [] : [`${where}: the domain does not import Nx`];
    if (e.to === e.from || e.to === 'external') return [];
    if (GLUE.includes(e.to)) return e.from === 'index.ts' && e.to === 'plugins' ? [] : [`${where}: nothing imports the Nx glue or the command line`];
    if (rank(e.to) < 0) return [`${where}: ${e.to} is in no layer`];
    if (GLUE.includes(e.from)) return [];
    return rank(e.to) < rank(e.from) ? [] : [`${where}: ${e.from} is below ${e.to} (order: ${DOMAIN.join(' < ')})`];
  });
}

/** Import edges of the non-test sources under `root`: relative imports as top-level folders, packages as their names. */
function importEdges(root: string): Edge[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.spec.ts')) files.push(p);
    }
  };
  walk(root);
  const top = (p: string) => relative(root, p).split('/')[0];
  return files.flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)].map((m) => {
      const spec = m[1] ?? m[2] ?? m[3];
      const target = resolve(dirname(f), spec);
      const to = spec.startsWith('.') ? (relative(root, target).startsWith('..') ? 'external' : top(target)) : NX.test(spec) ? spec : 'external';
      return { file: relative(root, f), from: top(f), to };
    }),
  );
}

describe('layering of src/', () => {
  it('every import goes down the declared order; only the Nx glue imports Nx', () => {
    const edges = importEdges(__dirname);
    expect(edges.length).toBeGreaterThan(100);
    expect(layeringProblems(edges)).toEqual([]);
  });

  it('reports an import against the order, Nx in the domain, the glue imported, and a folder in no layer', () => {
    expect(
      layeringProblems([
        { file: 'model/run.ts', from: 'model', to: 'config' },
        { file: 'config/run.ts', from: 'config', to: 'model' },
        { file: 'store/x.ts', from: 'store', to: '@nx/devkit' },
        { file: 'plugins/nodes.ts', from: 'plugins', to: '@nx/devkit' },
        { file: 'commands/plan.ts', from: 'commands', to: 'executors' },
        { file: 'executors/x.ts', from: 'executors', to: 'cli' },
        { file: 'bps/x.ts', from: 'bps', to: 'model' },
      ]),
    ).toEqual([
      'model/run.ts: model -> config: model is below config (order: ' + DOMAIN.join(' < ') + ')',
      'store/x.ts: store -> @nx/devkit: the domain does not import Nx',
      'commands/plan.ts: commands -> executors: nothing imports the Nx glue or the command line',
      'executors/x.ts: executors -> cli: nothing imports the Nx glue or the command line',
      'bps/x.ts: bps -> model: bps is in no layer (add it to DOMAIN or GLUE here and to README.md\'s Layout)',
    ]);
  });
});
