import { afterAll, describe, expect, it } from 'vitest';
import { copyWorkspace, nx, readFile, removeWorkspace, runStages, stripAnsi, writeFile } from './workspace';

/** Each broken configuration gets its own copy (Nx loads every run file). */
const copies: string[] = [];
afterAll(() => copies.forEach(removeWorkspace));

function brokenCopy(edit: (ws: string) => void): string {
  const ws = copyWorkspace();
  copies.push(ws);
  edit(ws);
  return ws;
}

/** A socm pipeline `t` and a run `t` using it. */
function socm(ws: string, stages: string, run = 'pipelines: t\n') {
  writeFile(ws, 'pipelines/t/pipeline.yaml', `stages:\n${stages}`);
  writeFile(ws, 'runs/t.yaml', run);
}

const sh = (name: string, extra: string[] = []) => [`  ${name}:`, '    executable: sh', '    script-args: ["-c", "true"]', ...extra.map((l) => `    ${l}`)].join('\n') + '\n';

interface Expected {
  /** Omitted: any. */
  file?: string;
  line?: number;
  key?: string;
  message: RegExp;
}

/** `nx show projects`: it still succeeds (the other runs load), printing the mistake on stderr. */
function showProjects(ws: string): ReturnType<typeof nx> {
  const r = nx(ws, ['show', 'projects']);
  expect(r.status, r.out).toBe(0);
  return { ...r, out: stripAnsi(r.stderr) };
}

/** `<file>:<line> (<key>): <message>`, then a `fix:` line; no JS stack trace. */
function expectConfigError(r: ReturnType<typeof nx>, e: Expected) {
  expect(r.out, 'a JS stack trace was printed').not.toMatch(/^\s+at /m);
  expect(r.out).not.toMatch(/\b(TypeError|ReferenceError|SyntaxError):/);
  const lines = r.out.split('\n').map((l) => l.trim());
  const i = lines.findIndex((l) => e.message.test(l));
  expect(i, `no line matching ${e.message} in:\n${r.out}`).toBeGreaterThanOrEqual(0);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const where = `${e.file ? esc(e.file) : '\\S+'}:${e.line ?? '\\d+'} \\(${e.key ? esc(e.key) : '[^)]+'}\\): `;
  expect(lines[i], `the problem is not located as ${e.file ?? '<file>'}:${e.line ?? '<line>'} (${e.key ?? '<key>'}):\n${r.out}`).toMatch(new RegExp(`^${where}`));
  expect(lines[i + 1], `no fix: line after the problem:\n${r.out}`).toMatch(/^fix: \S/);
}

describe('bad configurations are printed by nx with a located message and a fix', () => {
  it('unknown config key in a strict run file (without strict: true, a warning)', () => {
    const ws = brokenCopy((w) => {
      const text = readFile(w, 'runs/photoz-sim.yaml');
      expect(text).toContain('train_photoz: {k: 7}');
      writeFile(w, 'runs/photoz-sim.yaml', `${text.replace('train_photoz: {k: 7}', 'train_photoz: {k: 7, neighbours: 3}')}strict: true\n`);
    });
    const line = readFile(ws, 'runs/photoz-sim.yaml').split('\n').findIndex((l) => l.includes('neighbours')) + 1;
    const expected = { file: 'runs/photoz-sim.yaml', line, key: 'config.train_photoz.neighbours', message: /"neighbours" is not a config option of TrainPhotoz \(stage train_photoz\)/ };
    expectConfigError(showProjects(ws), expected);
    // Running is refused the same way, and nothing runs.
    const run = runStages(ws, 'photoz-sim');
    expect(run.status, run.out).not.toBe(0);
    expectConfigError(run, expected);
    expect(run.out).not.toMatch(/^\[split_catalog\]/m);
  });

  it('memory without a unit in a stage type', () => {
    const ws = brokenCopy((w) => {
      const file = 'pipelines/photoz/photoz_stages.yaml';
      const text = readFile(w, file);
      writeFile(w, file, text.replace(/(TrainPhotoz:[\s\S]*?resources: \{threads: 1, memory: )512M/, '$1512'));
    });
    const line = readFile(ws, 'pipelines/photoz/photoz_stages.yaml').split('\n').findIndex((l) => /memory: 512\b(?!M)/.test(l)) + 1;
    expect(line).toBeGreaterThan(0);
    const r = showProjects(ws);
    expectConfigError(r, { file: 'pipelines/photoz/photoz_stages.yaml', line, key: 'TrainPhotoz.resources.memory', message: /memory "512" has no unit/i });
    // Both photoz runs use the stage type: one message naming both.
    expect(r.out).toContain('nx-campaign: runs/photoz-observed.yaml, runs/photoz-sim.yaml are not loaded');
    expect(r.out.match(/memory "512" has no unit/gi)).toHaveLength(1);
  });

  it('a cycle between socm stages', () => {
    const ws = brokenCopy((w) => socm(w, sh('a', ['depends: [b]']) + sh('b', ['depends: [a]'])));
    const r = showProjects(ws);
    expectConfigError(r, { file: 'pipelines/t/pipeline.yaml', line: 2, key: 'a', message: /cycle/ });
    expect(r.out).toContain('a -> b -> a');
  });

  it('`depends` naming an unknown stage', () => {
    const ws = brokenCopy((w) => socm(w, sh('a') + sh('b', ['depends: [a, nosuch]'])));
    expectConfigError(showProjects(ws), { file: 'pipelines/t/pipeline.yaml', line: 5, key: 'b', message: /depends on unknown stage "nosuch"/ });
  });

  it('an input nobody produces lists the stages that need it', () => {
    const ws = brokenCopy((w) => socm(w, sh('a', ['inputs: [maps/missing.fits]']) + sh('b', ['inputs: [maps/missing.fits]']), 'pipelines: t\ninputs:\n  other: data/photoz/sim/spec.csv\n'));
    const r = showProjects(ws);
    expect(r.out).toMatch(/needed by: a, b\b/);
    // Located like every other problem: at the run's inputs or at a stage that needs it.
    expectConfigError(r, { message: /input "maps\/missing\.fits" is produced by no stage and not given by the run/ });
  });

  it('an output produced twice', () => {
    const ws = brokenCopy((w) => socm(w, sh('a', ['outputs: [out/x.txt]']) + sh('b', ['outputs: [out/x.txt]'])));
    const r = showProjects(ws);
    expectConfigError(r, { file: 'pipelines/t/pipeline.yaml', line: 6, key: 'b', message: /output "out\/x\.txt" is also produced by stage "a"/ });
  });

  it('a stage listed twice across two pipelines of one run', () => {
    const ws = brokenCopy((w) => {
      writeFile(w, 'pipelines/t1/pipeline.yaml', `stages:\n${sh('shared')}`);
      writeFile(w, 'pipelines/t2/pipeline.yaml', `stages:\n${sh('own')}${sh('shared')}`);
      writeFile(w, 'runs/t.yaml', 'pipelines: [t1, t2]\n');
    });
    const r = showProjects(ws);
    expectConfigError(r, { file: 'pipelines/t2/pipeline.yaml', line: 5, key: 'shared', message: /stage "shared" is listed twice/ });
    expect(r.out).toContain('pipelines/t1/pipeline.yaml:2');
  });

  it('a run input that is also an output', () => {
    const ws = brokenCopy((w) => socm(w, sh('a', ['outputs: [cat/spec.csv]']), 'pipelines: t\ninputs:\n  cat/spec.csv: data/photoz/sim/spec.csv\n'));
    const r = showProjects(ws);
    expectConfigError(r, { file: 'pipelines/t/pipeline.yaml', line: 2, key: 'a', message: /output "cat\/spec\.csv" is also an input of the run \(runs\/t\.yaml\)/ });
  });
});
