import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, executedStages, nx, readFile, removeWorkspace, runStages, stripAnsi, writeFile } from './workspace';

const PHOTOZ_STAGES = ['split_catalog', 'train_photoz', 'estimate_test', 'estimate_target', 'evaluate'];

/** Two run files broken in two ways; the other runs, photoz-sim and so-nulltests, are intact. */
const UNKNOWN_KEY = {
  file: 'runs/photoz-observed.yaml',
  located: /^runs\/photoz-observed\.yaml:10 \(config\.train_photoz\.k\): "many" is not of type int/,
};
const BAD_YAML = { file: 'runs/pspipe-demo.yaml', located: /^runs\/pspipe-demo\.yaml:7: invalid YAML: / };

/** Lines of `text` matching `re`, trimmed, each followed by its `fix:` line. */
function located(text: string, re: RegExp): string[] {
  const lines = stripAnsi(text).split('\n').map((l) => l.trim());
  return lines.flatMap((l, i) => (re.test(l) ? [`${l}\n${lines[i + 1]}`] : []));
}

function expectNoStackTrace(out: string) {
  expect(out, 'a JS stack trace was printed').not.toMatch(/^\s+at /m);
  expect(out).not.toMatch(/\b(TypeError|ReferenceError|SyntaxError|AggregateCreateNodesError|Failed to process project graph)\b/);
}

/** Each broken file's mistake, located and with its fix, once on stderr. */
function expectReportedOnce(r: ReturnType<typeof nx>) {
  expectNoStackTrace(r.out);
  for (const { file, located: re } of [UNKNOWN_KEY, BAD_YAML]) {
    const found = located(r.stderr, re);
    expect(found, `${file}'s mistake is not on stderr once:\n${r.out}`).toHaveLength(1);
    expect(found[0]).toMatch(/\nfix: \S/);
    expect(r.stderr).toContain(`nx-campaign: ${file} is not loaded (its run's targets fail until this is fixed):`);
  }
}

describe.sequential('a broken run file breaks only its own run', () => {
  let ws: string;
  let intact: { photozObserved: string; pspipe: string };

  beforeAll(() => {
    ws = copyWorkspace();
    intact = { photozObserved: readFile(ws, UNKNOWN_KEY.file), pspipe: readFile(ws, BAD_YAML.file) };
    expect(intact.photozObserved).toContain('train_photoz: {k: 11, weighting: distance}');
    writeFile(ws, UNKNOWN_KEY.file, intact.photozObserved.replace('train_photoz: {k: 11, weighting: distance}', 'train_photoz: {k: many, weighting: distance}'));
    writeFile(ws, BAD_YAML.file, `${intact.pspipe}pipelines: [pspipe\n`);
  });
  afterAll(() => removeWorkspace(ws));

  it('`nx show projects` lists the other runs and their stages, the broken runs alone, and prints each mistake once', () => {
    const r = nx(ws, ['show', 'projects']);
    expect(r.status, r.out).toBe(0);
    expectReportedOnce(r);
    const projects = r.stdout.split('\n').filter(Boolean);
    expect(projects.filter((p) => p.startsWith('photoz-sim.')).sort()).toEqual(PHOTOZ_STAGES.map((s) => `photoz-sim.${s}`).sort());
    expect(projects.filter((p) => p.startsWith('so-nulltests.'))).toHaveLength(25);
    expect(projects).toEqual(expect.arrayContaining(['photoz-sim', 'so-nulltests', 'photoz-observed', 'pspipe-demo']));
    expect(projects.filter((p) => p.startsWith('photoz-observed.') || p.startsWith('pspipe-demo.'))).toEqual([]);
  });

  it('`nx graph --file` graphs the other runs with their edges', () => {
    const r = nx(ws, ['graph', '--file=graph.json']);
    expect(r.status, r.out).toBe(0);
    expectReportedOnce(r);
    const { graph } = JSON.parse(readFile(ws, 'graph.json')) as { graph: { nodes: Record<string, { data: { targets: Record<string, { executor: string }> } }>; dependencies: Record<string, { target: string }[]> } };
    expect(graph.dependencies['photoz-sim.train_photoz'].map((d) => d.target)).toEqual(['photoz-sim.split_catalog']);
    expect(graph.nodes['photoz-observed'].data.targets.run.executor).toBe('nx-campaign:config-error');
  });

  it('`nx run-many -t stage` runs another run', () => {
    const r = runStages(ws, 'photoz-sim');
    expect(r.status, r.out).toBe(0);
    expectReportedOnce(r);
    expect(executedStages(r.out)).toEqual(PHOTOZ_STAGES.map((s) => `photoz-sim.${s}`).sort());
  });

  it("the broken run's run, stage and dry-run targets fail with its mistake, and run nothing", () => {
    for (const args of [['run', 'photoz-observed:run'], ['run', 'photoz-observed:dry-run'], ['run-many', '-t', 'stage', '--projects=tag:run:photoz-observed']]) {
      const r = nx(ws, [...args, '--outputStyle=static']);
      expect(r.status, r.out).not.toBe(0);
      expectNoStackTrace(r.out);
      // Printed by the graph (stderr), and again by the failing target.
      expect(located(r.out, UNKNOWN_KEY.located), r.out).toHaveLength(2);
      expect(r.out).toMatch(/Running target \S+ for project photoz-observed failed/);
    }
    const r = runStages(ws, 'pspipe-demo');
    expect(r.status, r.out).not.toBe(0);
    expect(located(r.out, BAD_YAML.located), r.out).toHaveLength(2);
    expect(existsSync(join(ws, 'results/photoz-observed')) || existsSync(join(ws, 'results/pspipe-demo'))).toBe(false);
  });

  it('once fixed, the runs load again and nothing is reported', () => {
    writeFile(ws, UNKNOWN_KEY.file, intact.photozObserved);
    writeFile(ws, BAD_YAML.file, intact.pspipe);
    const r = nx(ws, ['show', 'projects']);
    expect(r.status, r.out).toBe(0);
    expect(r.stderr).not.toContain('nx-campaign:');
    expect(r.stdout.split('\n').filter((p) => p.startsWith('photoz-observed.') || p.startsWith('pspipe-demo.'))).toHaveLength(9);
  });
});
