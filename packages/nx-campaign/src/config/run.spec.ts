import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, problemsOf } from '../testing/fixture';
import { loadRun } from './run';
import { renderArgv, stageInvocation } from '../model/command';

const STAGE_TYPES = `
Split:
  script: scripts/split.py
  inputs: {catalog: csv}
  outputs: {train: csv, test: csv}
  config:
    fraction: {type: float, default: 0.3}
    seed: {type: int, required: true}
Train:
  executable: python3
  script: scripts/train.py
  inputs: [train]
  outputs: {model: json}
  config:
    k: {type: int, default: 5}
    bands: {type: list, default: [g, r]}
    verbose: {type: bool, default: false}
  resources: {threads: 2, memory: 1G, runtime: 10m}
Estimate:
  script: scripts/estimate.py
  inputs: [model, catalog]
  outputs: {photoz: csv}
`;

const PIPELINE = `
modules: types
config: config.yaml
stages:
  - name: split
    classname: Split
  - name: train
    classname: Train
    nprocess: 2
  - name: estimate_test
    classname: Estimate
    aliases: {catalog: test, photoz: test_photoz}
`;

function ceciWorkspace(overrides: Record<string, string> = {}) {
  return fixture({
    'pipelines/pz/types.yaml': STAGE_TYPES,
    'pipelines/pz/pipeline.yaml': PIPELINE,
    'pipelines/pz/config.yaml': 'global:\n  seed: 1\nsplit:\n  fraction: 0.25\n',
    ...Object.fromEntries(['split', 'train', 'estimate'].map((s) => [`pipelines/pz/scripts/${s}.py`, ''])),
    'data/spec.csv': '',
    'runs/sim.yaml': 'pipelines: pz\ninputs:\n  catalog: data/spec.csv\nconfig:\n  global: {seed: 7}\n  train: {k: 9}\n',
    ...overrides,
  });
}


describe('ceci dialect', () => {
  it('builds the DAG from tags and aliases, and the command from inputs, outputs and sorted config', () => {
    const ws = ceciWorkspace();
    const run = loadRun(ws, 'runs/sim.yaml');
    expect(run.stages).toEqual(['split', 'train', 'estimate_test']);
    expect(run.dag.parents.get('estimate_test')).toEqual(['train', 'split']);
    expect(renderArgv(run, 'train', (p) => `/ws/${p}`)).toEqual(['python3', '/ws/pipelines/pz/scripts/train.py', '--train=train.csv', '--model=inprogress_model.json', '--bands=g,r', '--k=9', '--no-verbose']);
    expect(renderArgv(run, 'estimate_test', (p) => `/ws/${p}`)).toEqual(['python3', '-u', '/ws/pipelines/pz/scripts/estimate.py', '--model=model.json', '--catalog=test.csv', '--photoz=inprogress_test_photoz.csv']);
    expect(run.dag.stages.get('train')!.resources).toMatchObject({ ranks: 2, threads: 2, memoryMBPerNode: 1000, runtimeSeconds: 600 });
  });

  it('looks config up: run stage section > pipeline stage section > run global > pipeline global > default', () => {
    const ws = ceciWorkspace({ 'runs/sim.yaml': 'pipelines: pz\ninputs: {catalog: data/spec.csv}\nconfig:\n  global: {seed: 7}\n' });
    const run = loadRun(ws, 'runs/sim.yaml');
    expect(run.dag.stages.get('split')!.config).toEqual({ fraction: 0.25, seed: 7 });
    const ws2 = ceciWorkspace({ 'runs/sim.yaml': 'pipelines: pz\ninputs: {catalog: data/spec.csv}\nconfig:\n  split: {fraction: 0.5}\n' });
    expect(loadRun(ws2, 'runs/sim.yaml').dag.stages.get('split')!.config).toEqual({ fraction: 0.5, seed: 1 });
  });

  it('warns, as ceci accepts it, at an unknown config key, naming the closest option; strict: true makes it an error', () => {
    const config = 'global:\n  seed: 1\nsplit:\n  fraction: 0.25\n  fracton: 0.1\n';
    const run = loadRun(ceciWorkspace({ 'pipelines/pz/config.yaml': config }), 'runs/sim.yaml');
    const [w] = run.warnings;
    expect(w).toMatchObject({ file: 'pipelines/pz/config.yaml', line: 5, key: 'split.fracton' });
    expect(w.message).toBe('"fracton" is not a config option of Split (stage split); did you mean "fraction"?; it is not passed to its script');
    expect(w.fix).toContain('known options: fraction, seed');
    const strict = ceciWorkspace({ 'pipelines/pz/config.yaml': config, 'runs/sim.yaml': 'pipelines: pz\ninputs: {catalog: data/spec.csv}\nstrict: true\n' });
    expect(problemsOf(() => loadRun(strict, 'runs/sim.yaml'))).toMatchObject([{ line: 5, key: 'split.fracton' }]);
  });

  it('warns at a global key no stage uses; rejects a wrong type and a missing required option', () => {
    const ws = ceciWorkspace({ 'pipelines/pz/config.yaml': 'global:\n  sed: 1\nsplit:\n  fraction: lots\n', 'runs/sim.yaml': 'pipelines: pz\ninputs: {catalog: data/spec.csv}\n' });
    const problems = problemsOf(() => loadRun(ws, 'runs/sim.yaml'));
    expect(problems.map((p) => p.message)).toEqual([expect.stringContaining('"lots" is not of type float'), expect.stringContaining('needs config option "seed"')]);
    const unused = loadRun(ceciWorkspace({ 'pipelines/pz/config.yaml': 'global:\n  seed: 1\n  sed: 1\n' }), 'runs/sim.yaml');
    expect(unused.warnings.map((w) => `${w.line} ${w.message}`)).toEqual(['3 global option "sed" is not an option of any stage of pipelines/pz/pipeline.yaml; did you mean "seed"?']);
  });

  it('names the unknown stage class, the closest one and the known ones', () => {
    const ws = ceciWorkspace({ 'pipelines/pz/pipeline.yaml': PIPELINE.replace('classname: Train', 'classname: Trian') });
    const [p] = problemsOf(() => loadRun(ws, 'runs/sim.yaml'));
    expect(p).toMatchObject({ file: 'pipelines/pz/pipeline.yaml', line: 8 });
    expect(p.message).toBe('no stage class "Trian" in modules types (did you mean "Train"?)');
    expect(p.fix).toBe('use one of: Estimate, Split, Train');
  });

  it('says which unit a bare memory needs, at its line in the stage-type file', () => {
    const ws = ceciWorkspace({ 'pipelines/pz/types.yaml': STAGE_TYPES.replace('memory: 1G', 'memory: 80000') });
    const [p] = problemsOf(() => loadRun(ws, 'runs/sim.yaml'));
    expect(p).toMatchObject({ file: 'pipelines/pz/types.yaml', line: 18, key: 'Train.resources.memory' });
    expect(p.message).toContain('"80000M"');
  });
});

const SOCM = `
paramfile: &paramfile params/run.dict
campaign: {deadline: 24h, resource: tiger3, execution_schema: remote, requested_resources: 3359}
stages:
  prep:
    executable: python -u
    script: scripts/prep.py
    script-args: [*paramfile, out/prep.dat]
    script-flags: [fast]
    script-kwargs: {start: 0, stop: 10, out2: out/extra.dat}
    depends: null
    outputs: [out/prep.dat, out/extra.dat]
    resources: {ranks: 14, threads: 8, memory: 8G, runtime: 10m}
  use:
    executable: python -u
    script: scripts/use.py
    script-args: [out/prep.dat]
    depends: [prep]
    inputs: [out/prep.dat]
`;

describe('socm DAG dialect', () => {
  it('passes every script-arg, then flags, then kwargs sorted (as socm); outputs given as arguments become in-progress paths', () => {
    const ws = fixture({ 'pipelines/ps/pipeline.yaml': SOCM, 'runs/r.yaml': 'pipelines: ps\n' });
    const run = loadRun(ws, 'runs/r.yaml');
    expect(renderArgv(run, 'prep', (p) => `/ws/${p}`)).toEqual(['python', '-u', '/ws/pipelines/ps/scripts/prep.py', 'params/run.dict', 'out/inprogress_prep.dat', '--fast', '--out2=out/inprogress_extra.dat', '--start=0', '--stop=10']);
    expect(run.pipelines[0].campaign).toMatchObject({ deadline: 86400, resource: 'tiger3', requested_resources: 3359 });
    const inv = stageInvocation(ws, run, 'use');
    expect(inv.cwd).toBe(join(ws, 'results/r/outputs'));
    expect(inv.inputs).toEqual([join(ws, 'results/r/outputs/out/prep.dat')]);
  });

  it('loads a socm DAG with the quirks of real ones, warning at the repeated key and the path with a space', () => {
    const example = readFileSync(join(__dirname, '../../../../pipelines/socm-dag/pipeline.yaml'), 'utf8');
    const ws = fixture({ 'pipelines/pspipe/pipeline.yaml': example });
    const p = loadRun(ws, 'pipelines/pspipe/pipeline.yaml');
    expect(p.stages).toHaveLength(8);
    expect(p.pipelines[0].campaign).toMatchObject({ resource: 'tiger3', requested_resources: 3359, execution_schema: 'remote' });
    expect(p.warnings.slice(0, 2)).toEqual([
      expect.objectContaining({ line: 49, key: 'stages.mask_extra.resources', message: expect.stringContaining('first at line 43') }),
      expect.objectContaining({ key: 'stages.mode_coupling.script', message: expect.stringContaining('contains a space') }),
    ]);
    // Its scripts are on the cluster, not here: a warning each, at the stage.
    expect(p.warnings.slice(2).map((w) => `${w.line} ${w.message}`)).toContain('14 stage extract_maps\'s file pipelines/pspipe/pspipe/python/extract_maps.py does not exist');
    expect(p.warnings).toHaveLength(10);
    expect(p.dag.stages.get('spectra')!.resources).toMatchObject({ ranks: 17, threads: 4, memoryMBPerNode: 600000, runtimeSeconds: 900 });
  });

  it('runs a stage in its base-path (else the campaign\'s), where its script and relative arguments are', () => {
    const dag = `campaign: {base-path: work}
stages:
  a: {executable: python -u, script: make.py, script-args: [in.dat, out/a.dat], outputs: [out/a.dat], base-path: other}
  b: {executable: sh, script: b.sh, script-args: [out/a.dat], inputs: [out/a.dat]}
`;
    const ws = fixture({ 'pipelines/ps/pipeline.yaml': dag, 'runs/r.yaml': 'pipelines: ps\n' });
    const run = loadRun(ws, 'runs/r.yaml');
    const [a, b] = [stageInvocation(ws, run, 'a'), stageInvocation(ws, run, 'b')];
    expect([a.cwd, b.cwd]).toEqual([join(ws, 'other'), join(ws, 'work')]);
    // Files in the run's output folder are given from the workspace, since the stage runs elsewhere.
    expect(a.argv).toEqual(['python', '-u', join(ws, 'other/make.py'), 'in.dat', join(ws, 'results/r/outputs/out/inprogress_a.dat')]);
    expect(b.argv).toEqual(['sh', join(ws, 'work/b.sh'), join(ws, 'results/r/outputs/out/a.dat')]);
    expect(a.outputs[0].final).toBe(join(ws, 'results/r/outputs/out/a.dat'));
    expect(run.dag.stages.get('a')!.definitionFiles).toEqual(['other/make.py']);
  });

  it('refuses a variable in executable rather than putting its value (or nothing) in its place', () => {
    const ws = fixture({ 'pipelines/ps/pipeline.yaml': 'stages:\n  a:\n    executable: "$CONDA_PREFIX/bin/python3 -u"\n', 'runs/r.yaml': 'pipelines: ps\n' });
    expect(problemsOf(() => loadRun(ws, 'runs/r.yaml'))).toMatchObject([{ line: 3, key: 'stages.a.executable', message: expect.stringContaining('names a variable or a command substitution') }]);
  });

  it('warns at load of a script that does not exist (a campaign may be planned away from its cluster)', () => {
    const ws = fixture({ 'pipelines/ps/pipeline.yaml': 'stages:\n  a:\n    executable: python3\n    script: scripts/gone.py\n', 'runs/r.yaml': 'pipelines: ps\n' });
    expect(loadRun(ws, 'runs/r.yaml').warnings).toMatchObject([{ file: 'pipelines/ps/pipeline.yaml', line: 2, key: 'a', message: "stage a's file pipelines/ps/scripts/gone.py does not exist" }]);
  });

  it('refuses shell operators in executable', () => {
    const ws = fixture({ 'pipelines/ps/pipeline.yaml': 'stages:\n  a:\n    executable: "python; rm -rf /"\n', 'runs/r.yaml': 'pipelines: ps\n' });
    expect(problemsOf(() => loadRun(ws, 'runs/r.yaml'))[0].message).toContain('is not a program with arguments');
  });
});

function socmRun(stages: string, run = 'pipelines: ps\n') {
  return fixture({ 'pipelines/ps/pipeline.yaml': `stages:\n${stages}`, 'runs/r.yaml': run });
}

describe('DAG errors', () => {
  it('refuses stage names that are no names: a leading dot, a separator, more than 100 characters', () => {
    const long = 'x'.repeat(300);
    const ws = socmRun(`  .hidden: {executable: sh}\n  ${long}: {executable: sh}\n`);
    expect(problemsOf(() => loadRun(ws, 'runs/r.yaml')).map((p) => `${p.line} ${p.message}`)).toEqual([
      '2 stage name ".hidden" is not a name',
      expect.stringMatching(/^3 stage name "x{100}\.\.\." is not a name$/),
    ]);
  });

  it('refuses an environment name a shell would run, and an alias that leaves the output folder', () => {
    const env = socmRun('  a: {executable: sh, environment: {"X=$(touch pwned)": 1}}\n');
    expect(problemsOf(() => loadRun(env, 'runs/r.yaml'))).toMatchObject([{ line: 2, message: expect.stringContaining('an environment variable name') }]);
    const alias = ceciWorkspace({ 'pipelines/pz/pipeline.yaml': PIPELINE.replace('aliases: {catalog: test, photoz: test_photoz}', 'aliases: {catalog: test, photoz: ../../../../tmp/x/evil}') });
    expect(problemsOf(() => loadRun(alias, 'runs/sim.yaml'))).toMatchObject([{ file: 'pipelines/pz/pipeline.yaml', key: 'stages[2].aliases.photoz', message: expect.stringContaining('A file name') }]);
  });

  it('finds a cycle through 50,000 stages without overflowing the stack', () => {
    const n = 50_000;
    const stages = Array.from({ length: n }, (_, i) => `  s${i}: {executable: sh, depends: [s${(i + 1) % n}]}\n`).join('');
    const problems = problemsOf(() => loadRun(socmRun(stages), 'runs/r.yaml'));
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^the stages form a cycle: s\d+ -> /);
  });

  it('a run that selects no stage is an error, not a run that does nothing', () => {
    const chain = '  a: {executable: x, outputs: [a]}\n  b: {executable: x, inputs: [a]}\n';
    expect(problemsOf(() => loadRun(socmRun(chain, 'pipelines: ps\nfrom: b\nto: a\n'), 'runs/r.yaml'))).toMatchObject([{ line: 2, key: 'from', message: 'from and to select no stage' }]);
    expect(problemsOf(() => loadRun(socmRun('', 'pipelines: ps\n'), 'runs/r.yaml'))).toMatchObject([{ message: expect.stringMatching(/no stage|missing or empty/) }]);
  });

  it('prints a cycle', () => {
    const ws = socmRun('  a: {executable: x, depends: [c]}\n  b: {executable: x, depends: [a]}\n  c: {executable: x, depends: [b]}\n');
    const [p] = problemsOf(() => loadRun(ws, 'runs/r.yaml'));
    expect(p.message).toMatch(/cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
  });

  it('names an unknown depends', () => {
    const ws = socmRun('  a: {executable: x, depends: [nope]}\n');
    const [p] = problemsOf(() => loadRun(ws, 'runs/r.yaml'));
    expect(p).toMatchObject({ file: 'pipelines/ps/pipeline.yaml', line: 2, key: 'a' });
    expect(p.message).toBe('depends on unknown stage "nope"');
  });

  it('lists the stages that need an input nobody produces', () => {
    const ws = socmRun('  a: {executable: x, inputs: [m.fits]}\n  b: {executable: x, inputs: [m.fits]}\n');
    const [p] = problemsOf(() => loadRun(ws, 'runs/r.yaml'));
    expect(p).toMatchObject({ file: 'pipelines/ps/pipeline.yaml', line: 2, key: 'a.inputs' });
    expect(p.message).toBe('input "m.fits" is produced by no stage and not given by the run; needed by: a, b');
    expect(p.fix).toContain('under inputs: in runs/r.yaml');
  });

  it('rejects an output produced twice and an output that is a run input', () => {
    const ws = socmRun('  a: {executable: x, outputs: [m.fits]}\n  b: {executable: x, outputs: [m.fits]}\n');
    expect(problemsOf(() => loadRun(ws, 'runs/r.yaml'))[0].message).toContain('output "m.fits" is also produced by stage "a"');
    const ws2 = socmRun('  a: {executable: x, outputs: [m.fits]}\n', 'pipelines: ps\ninputs: {m.fits: data/m.fits}\n');
    expect(problemsOf(() => loadRun(ws2, 'runs/r.yaml'))[0].message).toContain('is also an input of the run');
  });

  it('rejects an output inside a folder output of another stage (re-running that one would remove it); the same stage may', () => {
    const ws = socmRun('  a: {executable: x, outputs: [maps]}\n  b: {executable: x, outputs: [maps/deep/b.fits]}\n');
    expect(problemsOf(() => loadRun(ws, 'runs/r.yaml'))).toMatchObject([{ line: 3, key: 'b', message: 'output "maps/deep/b.fits" is inside output "maps" of stage "a", which removes it each time it runs' }]);
    expect(loadRun(socmRun('  a: {executable: x, outputs: [maps, maps/index.txt]}\n'), 'runs/r.yaml').stages).toEqual(['a']);
  });

  it('rejects a stage that belongs to two pipelines of a run', () => {
    const ws = fixture({
      'pipelines/one/pipeline.yaml': 'stages:\n  a: {executable: x}\n',
      'pipelines/two/pipeline.yaml': 'stages:\n  a: {executable: y}\n',
      'runs/r.yaml': 'pipelines: [one, two]\n',
    });
    const [p] = problemsOf(() => loadRun(ws, 'runs/r.yaml'));
    expect(p).toMatchObject({ file: 'pipelines/two/pipeline.yaml', key: 'a' });
    expect(p.message).toContain('listed twice (also pipelines/one/pipeline.yaml:2)');
  });

  it('names an unknown pipeline at its line in the run file', () => {
    const ws = fixture({ 'runs/r.yaml': 'pipelines:\n  - nope\n' });
    expect(problemsOf(() => loadRun(ws, 'runs/r.yaml'))[0]).toMatchObject({ file: 'runs/r.yaml', line: 2, message: 'pipeline "nope" not found' });
  });
});

describe('run options', () => {
  const chain = '  a: {executable: x, outputs: [a]}\n  b: {executable: x, inputs: [a], outputs: [b]}\n  c: {executable: x, inputs: [b], outputs: [c]}\n  d: {executable: x, inputs: [a]}\n';

  it('refuses output and log folders that are the workspace root or hold the run\'s inputs', () => {
    const root = problemsOf(() => loadRun(socmRun(chain, 'pipelines: ps\noutput_dir: .\nlog_dir: ./\n'), 'runs/r.yaml'));
    expect(root.map((p) => `${p.line} ${p.key}: ${p.message.split(':')[0]}`)).toEqual(['2 output_dir: output_dir "." is the workspace root', '3 log_dir: log_dir "./" is the workspace root']);
    const inputs = problemsOf(() => loadRun(socmRun('  a: {executable: x, inputs: [spec]}\n', 'pipelines: ps\ninputs: {spec: data/sim/spec.csv}\noutput_dir: data/sim\n'), 'runs/r.yaml'));
    expect(inputs).toMatchObject([{ line: 3, key: 'output_dir', message: expect.stringContaining("holds the run's input spec (data/sim/spec.csv)") }]);
    const toml = fixture({ 'runs/c.toml': '[campaign]\noutput_dir = "."\n[campaign.power-spectra]\nsubcommand = "s.py"\n' });
    expect(problemsOf(() => loadRun(toml, 'runs/c.toml'))).toMatchObject([{ line: 2, key: 'campaign.output_dir', message: expect.stringContaining('is the workspace root') }]);
  });

  it('trims with from and to', () => {
    expect(loadRun(socmRun(chain, 'pipelines: ps\nfrom: b\n'), 'runs/r.yaml').stages).toEqual(['b', 'c']);
    expect(loadRun(socmRun(chain, 'pipelines: ps\nto: b\n'), 'runs/r.yaml').stages).toEqual(['a', 'b']);
    expect(loadRun(socmRun(chain, 'pipelines: ps\nfrom: [b]\nto: [c]\n'), 'runs/r.yaml').stages).toEqual(['b', 'c']);
    expect(problemsOf(() => loadRun(socmRun(chain, 'pipelines: ps\nto: zz\n'), 'runs/r.yaml'))[0]).toMatchObject({ line: 2, key: 'to' });
  });

  it.each([
    [true, 'resume'],
    [false, 'restart'],
    ['refuse', 'refuse'],
  ])('resume: %j means %s', (value, mode) => {
    expect(loadRun(socmRun(chain, `pipelines: ps\nresume: ${value}\n`), 'runs/r.yaml').resume).toBe(mode);
  });

  it('fills {run} into folders and rejects unknown keys with their line', () => {
    const run = loadRun(socmRun(chain, 'pipelines: ps\noutput_dir: out/{run}\n'), 'runs/r.yaml');
    expect(run.outputDir).toBe('out/r');
    const [p] = problemsOf(() => loadRun(socmRun(chain, 'pipelines: ps\noutput_dri: x\n'), 'runs/r.yaml'));
    expect(p).toMatchObject({ file: 'runs/r.yaml', line: 2, key: 'output_dri' });
  });

  it('rejects overrides of stages the run does not have', () => {
    const [p] = problemsOf(() => loadRun(socmRun(chain, 'pipelines: ps\nresources:\n  zz: {threads: 2}\n'), 'runs/r.yaml'));
    expect(p).toMatchObject({ line: 3, key: 'resources.zz', message: 'no stage "zz" in pipelines ps' });
  });
});
