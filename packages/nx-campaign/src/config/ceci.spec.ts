import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderArgv, stageInvocation, localArgv } from '../model/command';
import { fixture, problemsOf } from '../testing/fixture';
import { loadRun } from './run';

/** This project's ceci-style modules: ceci's example classes, and a stand-in ceci. */
const PYTHON = resolve(__dirname, '../../../../pipelines/wlgc/python');

/** A folder laid out as ceci's repository is (tests/test.yml run from its root), with our modules. */
function ceciRepo(files: Record<string, string> = {}): string {
  const root = fixture({
    'tests/inputs/dm.txt': '',
    'tests/inputs/fiducial_cosmology.txt': '',
    'tests/config.yml': 'global:\n    metacalibration: True\n\nshearMeasurementPipe:\n    apply_flag: False\n\nWLGCSelector:\n    zbin_edges: [0.2, 0.3, 0.5]\n    ra_range: [-5, 5]\n',
    ...files,
  });
  cpSync(PYTHON, join(root, 'py'), { recursive: true });
  return root;
}

/** A pipeline in ceci's test layout; `extra` replaces stage entries or adds keys. */
const PIPELINE = (stages = STAGES, extra = '') => `modules: ceci_example
python_paths: [py]
launcher:
    name: mini
    interval: 0.5
site:
    name: local
    max_threads: 4
stages:
${stages}
inputs:
    DM: ./tests/inputs/dm.txt
    fiducial_cosmology: ./tests/inputs/fiducial_cosmology.txt
config: ./tests/config.yml
resume: False
output_dir: ./tests/outputs
log_dir: ./tests/logs
${extra}`;

const STAGES = `    - name: WLGCSummaryStatistic
      nprocess: 1
      threads_per_process: 2
      aliases:
        covariance_2: covariance_shared
    - name: SysMapMaker
      nprocess: 1
    - name: shearMeasurementPipe
      nprocess: 1
    - name: PZEstimationPipe
      nprocess: 1
    - name: WLGCRandoms
      nprocess: 1
    - name: WLGCSelector
      nprocess: 1
    - name: SourceSummarizer
      nprocess: 1
    - name: WLGCTwoPoint
      nprocess: 1
    - name: WLGCCov
      nprocess: 1
      aliases:
        covariance_1: covariance_shared`;

/** What `ceci --dry-run tests/test.yml` prints for ceci's test pipeline, a command per stage. */
const CECI_DRY_RUN = `
OMP_NUM_THREADS=1 python3 -m ceci_example SysMapMaker --DM=./tests/inputs/dm.txt --config=./tests/config.yml --diagnostic_maps=./tests/outputs/diagnostic_maps.txt
OMP_NUM_THREADS=1 python3 -m ceci_example shearMeasurementPipe --DM=./tests/inputs/dm.txt --config=./tests/config.yml --shear_catalog=./tests/outputs/shear_catalog.txt
OMP_NUM_THREADS=1 python3 -m ceci_example PZEstimationPipe --DM=./tests/inputs/dm.txt --fiducial_cosmology=./tests/inputs/fiducial_cosmology.txt --config=./tests/config.yml --photoz_pdfs=./tests/outputs/photoz_pdfs.txt
OMP_NUM_THREADS=1 python3 -m ceci_example WLGCRandoms --diagnostic_maps=./tests/outputs/diagnostic_maps.txt --config=./tests/config.yml --random_catalog=./tests/outputs/random_catalog.txt
OMP_NUM_THREADS=1 python3 -m ceci_example WLGCSelector --shear_catalog=./tests/outputs/shear_catalog.txt --photoz_pdfs=./tests/outputs/photoz_pdfs.txt --config=./tests/config.yml --tomography_catalog=./tests/outputs/tomography_catalog.txt
OMP_NUM_THREADS=1 python3 -m ceci_example SourceSummarizer --tomography_catalog=./tests/outputs/tomography_catalog.txt --photoz_pdfs=./tests/outputs/photoz_pdfs.txt --diagnostic_maps=./tests/outputs/diagnostic_maps.txt --config=./tests/config.yml --source_summary_data=./tests/outputs/source_summary_data.txt
OMP_NUM_THREADS=1 python3 -m ceci_example WLGCTwoPoint --tomography_catalog=./tests/outputs/tomography_catalog.txt --shear_catalog=./tests/outputs/shear_catalog.txt --diagnostic_maps=./tests/outputs/diagnostic_maps.txt --random_catalog=./tests/outputs/random_catalog.txt --config=./tests/config.yml --twopoint_data=./tests/outputs/twopoint_data.txt
OMP_NUM_THREADS=1 python3 -m ceci_example WLGCCov --fiducial_cosmology=./tests/inputs/fiducial_cosmology.txt --tomography_catalog=./tests/outputs/tomography_catalog.txt --shear_catalog=./tests/outputs/shear_catalog.txt --source_summary_data=./tests/outputs/source_summary_data.txt --diagnostic_maps=./tests/outputs/diagnostic_maps.txt --config=./tests/config.yml --covariance_1=./tests/outputs/covariance_shared.txt
OMP_NUM_THREADS=2 python3 -m ceci_example WLGCSummaryStatistic --twopoint_data=./tests/outputs/twopoint_data.txt --covariance_2=./tests/outputs/covariance_shared.txt --source_summary_data=./tests/outputs/source_summary_data.txt --config=./tests/config.yml --wlgc_summary_data=./tests/outputs/wlgc_summary_data.txt
`.trim().split('\n');

const commands = (root: string, file: string) => {
  const run = loadRun(root, file);
  return run.stages.map((s) => {
    const inv = stageInvocation(root, run, s);
    return `OMP_NUM_THREADS=${inv.env.OMP_NUM_THREADS} ${inv.argv.join(' ')}`;
  });
};

describe('ceci pipelines with Python stage classes', () => {
  it("builds exactly ceci's commands for its test pipeline, in its order, run from the launch folder", () => {
    const root = ceciRepo({ 'tests/test.yml': PIPELINE() });
    expect(commands(root, 'tests/test.yml')).toEqual(CECI_DRY_RUN);
    const run = loadRun(root, 'tests/test.yml');
    expect(run.warnings).toEqual([]);
    expect(run.resume).toBe('restart');
    const inv = stageInvocation(root, run, 'WLGCCov');
    expect(inv.cwd).toBe(root);
    expect(inv.env.PYTHONPATH?.split(':')[0]).toBe(join(root, 'py'));
    // ceci's stages write inprogress_ files and rename them: we pass and check the final name.
    expect(inv.outputs).toEqual([{ final: join(root, 'tests/outputs/covariance_shared.txt'), inProgress: join(root, 'tests/outputs/inprogress_covariance_shared.txt'), viaArgument: false }]);
    expect(run.dag.stages.get('WLGCSelector')!.config).toEqual({ metacalibration: true, zbin_edges: [0.2, 0.3, 0.5], ra_range: [-5, 5] });
    expect(run.maxCores).toBe(4);
  });

  it('a namespace package runs through python3 -m ceci <module>.<Class>; classname and --name when the instance is renamed', () => {
    const root = ceciRepo({
      'tests/ns.yml': PIPELINE('    - name: sys_maps\n      classname: NMSysMapMaker\n      module_name: nmspace.stages'),
      'py/nmspace/stages.py': 'from ceci import PipelineStage\nfrom ceci_example.types import TextFile\n\nclass NMSysMapMaker(PipelineStage):\n    name = "NMSysMapMaker"\n    inputs = [("DM", TextFile)]\n    outputs = [("diagnostic_maps", TextFile)]\n\n    def run(self):\n        pass\n',
    });
    expect(commands(root, 'tests/ns.yml')).toEqual(['OMP_NUM_THREADS=1 python3 -m ceci nmspace.stages.NMSysMapMaker --DM=./tests/inputs/dm.txt --name=sys_maps --config=./tests/config.yml --diagnostic_maps=./tests/outputs/diagnostic_maps.txt']);
  });

  it('more than one rank: the site\'s MPI launcher locally and --mpi; a class that is not parallel refuses it', () => {
    const root = ceciRepo({ 'tests/mpi.yml': PIPELINE('    - name: SysMapMaker\n      nprocess: 3\n      threads_per_process: 2', 'site:\n    name: nersc-interactive\n') });
    const run = loadRun(root, 'tests/mpi.yml');
    const inv = stageInvocation(root, run, 'SysMapMaker');
    expect(inv.argv.at(-1)).toBe('--mpi');
    expect(localArgv(inv).slice(0, 5)).toEqual(['srun', '-u', '-n', '3', 'python3']);
    expect(run.dag.stages.get('SysMapMaker')!.resources).toMatchObject({ ranks: 3, threads: 2 });
    const serial = ceciRepo({ 'tests/bad.yml': PIPELINE('    - name: PZEstimationPipe\n      nprocess: 2') });
    expect(problemsOf(() => loadRun(serial, 'tests/bad.yml'))).toMatchObject([{ file: 'tests/bad.yml', line: 11, key: 'stages.0.nprocess', message: expect.stringContaining('PZEstimationPipe is not parallel') }]);
  });

  it('a null run input is passed as None, as ceci passes it', () => {
    const root = ceciRepo({ 'tests/t.yml': PIPELINE('    - name: SysMapMaker').replace('DM: ./tests/inputs/dm.txt', 'DM: null') });
    expect(commands(root, 'tests/t.yml')).toEqual(['OMP_NUM_THREADS=1 python3 -m ceci_example SysMapMaker --DM=None --config=./tests/config.yml --diagnostic_maps=./tests/outputs/diagnostic_maps.txt']);
    expect(stageInvocation(root, loadRun(root, 'tests/t.yml'), 'SysMapMaker').inputs).toEqual([]);
  });

  it('a run that overrides config values gives the stages a merged copy of the config, of the same name, in its output folder', () => {
    const root = ceciRepo({
      'pipelines/wl/pipeline.yml': 'modules: ceci_example\npython_paths: [py]\nconfig: tests/config.yml\nstages:\n  - name: SysMapMaker\n  - name: WLGCSelector\n  - name: shearMeasurementPipe\n  - name: PZEstimationPipe\n',
      'runs/r.yaml': 'pipelines: wl\ninputs: {DM: d.txt, fiducial_cosmology: c.txt}\nconfig:\n  WLGCSelector: {zbin_edges: [0.1, 0.9]}\n',
    });
    const run = loadRun(root, 'runs/r.yaml');
    const inv = stageInvocation(root, run, 'WLGCSelector');
    expect(inv.argv).toContain('--config=results/r/outputs/config.yml');
    const merged = inv.files[join(root, 'results/r/outputs/config.yml')];
    expect(run.dag.stages.get('WLGCSelector')!.files).toBeUndefined();
    expect(merged).toContain('zbin_edges:\n    - 0.1\n    - 0.9');
    expect(merged).toContain('apply_flag: false');
    expect(run.dag.stages.get('WLGCSelector')!.config).toMatchObject({ zbin_edges: [0.1, 0.9], metacalibration: true });
  });

  it('config as ceci accepts it: unknown keys and a section with a typo for a stage are warnings naming the closest; strict: true makes them errors', () => {
    const config = 'global:\n  metacalibration: True\n  ra_rang: 1\nshearMeasurementPipe:\n  apply_flg: False\n  apply_flag: False\nWLGCSelecter:\n  zbin_edges: [0.2]\nTXOther:\n  x: 1\n';
    const root = ceciRepo({ 'tests/config.yml': config, 'tests/t.yml': PIPELINE('    - name: shearMeasurementPipe\n    - name: PZEstimationPipe\n    - name: WLGCSelector') });
    expect(loadRun(root, 'tests/t.yml').warnings.map((w) => `${w.file}:${w.line} ${w.message}`)).toEqual([
      'tests/config.yml:7 section "WLGCSelecter" names no stage of tests/t.yml; did you mean "WLGCSelector"?',
      'tests/config.yml:5 "apply_flg" is not a config option of shearMeasurementPipe (stage shearMeasurementPipe); did you mean "apply_flag"?; the stage gets it anyway, as in ceci',
      'tests/config.yml:3 global option "ra_rang" is not an option of any stage of tests/t.yml; did you mean "ra_range"?',
    ]);
    const strict = ceciRepo({ 'tests/config.yml': config, 'tests/t.yml': PIPELINE('    - name: shearMeasurementPipe\n    - name: PZEstimationPipe\n    - name: WLGCSelector', 'strict: true\n') });
    expect(problemsOf(() => loadRun(strict, 'tests/t.yml')).map((p) => p.line)).toEqual([7, 5, 3]);
  });

  it('a missing required option, a class that cannot be read statically and a module not found are errors at their lines', () => {
    const required = ceciRepo({ 'tests/config.yml': 'global: {}\n', 'tests/t.yml': PIPELINE('    - name: shearMeasurementPipe') });
    expect(problemsOf(() => loadRun(required, 'tests/t.yml')).map((p) => p.message)).toEqual(['stage shearMeasurementPipe needs config option "metacalibration" (bool)', 'stage shearMeasurementPipe needs config option "apply_flag" (bool)']);
    const dynamic = ceciRepo({
      'tests/t.yml': PIPELINE('    - name: Dyn').replace('modules: ceci_example', 'modules: ceci_example dyn'),
      'py/dyn.py': 'from ceci import PipelineStage\n\ndef tags():\n    return [("a", None)]\n\nclass Dyn(PipelineStage):\n    inputs = tags()\n    outputs = []\n\n    def run(self):\n        pass\n',
    });
    const [d] = problemsOf(() => loadRun(dynamic, 'tests/t.yml'));
    expect(d).toMatchObject({ file: 'tests/t.yml', line: 10, message: expect.stringMatching(/^class Dyn \(module dyn, .*dyn\.py:\d+\) cannot be read statically: /), fix: expect.stringContaining('declare it in YAML') });
    const missing = ceciRepo({ 'tests/t.yml': PIPELINE('    - name: SysMapMaker').replace('modules: ceci_example', 'modules: ceci_example txpipe') });
    expect(problemsOf(() => loadRun(missing, 'tests/t.yml'))).toMatchObject([{ line: 1, key: 'modules', message: expect.stringContaining('module "txpipe" is neither tests/txpipe.yaml nor a Python module on the import path') }]);
  });

  it('a stage class unknown to the modules is named with the closest one', () => {
    const root = ceciRepo({ 'tests/t.yml': PIPELINE('    - name: SysMapMakr') });
    expect(problemsOf(() => loadRun(root, 'tests/t.yml'))).toMatchObject([{ line: 10, message: 'no stage class "SysMapMakr" in modules ceci_example (did you mean "SysMapMaker"?)' }]);
  });
});

describe('paths in ceci commands', () => {
  it('are the run\'s, as written: a run file over a pipeline of another layout (lbg-pipelines: configs/pipelines)', () => {
    const root = ceciRepo({
      'configs/pipelines/sys/pipeline.yaml': 'modules: ceci_example\npython_paths: [py]\nconfig: tests/config.yml\nstages:\n  - name: SysMapMaker\n  - name: WLGCRandoms\n',
      'runs/sys_sim.yaml': 'pipelines: sys\noutput_dir: ./out/{run}/\ninputs:\n  DM: ./data/dm.txt\n',
    });
    mkdirSync(dirname(join(root, 'data/dm.txt')), { recursive: true });
    writeFileSync(join(root, 'data/dm.txt'), 'x\n');
    const run = loadRun(root, 'runs/sys_sim.yaml');
    expect(renderArgv(run, 'WLGCRandoms', (p) => `/abs/${p}`)).toEqual(['python3', '-m', 'ceci_example', 'WLGCRandoms', '--diagnostic_maps=./out/sys_sim/diagnostic_maps.txt', '--config=tests/config.yml', '--random_catalog=./out/sys_sim/random_catalog.txt']);
    expect(stageInvocation(root, run, 'SysMapMaker').inputs).toEqual([join(root, 'data/dm.txt')]);
  });
});
