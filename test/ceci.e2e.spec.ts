import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, executedStages, nx, readFile, removeWorkspace, runStages, writeFile } from './workspace';

/** runs/wlgc.yaml: a ceci pipeline of Python stage classes, through real nx. */
describe.sequential('a ceci pipeline of Python stage classes', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  const STAGES = ['PZEstimationPipe', 'SourceSummarizer', 'SysMapMaker', 'WLGCCov', 'WLGCRandoms', 'WLGCSelector', 'WLGCSummaryStatistic', 'WLGCTwoPoint', 'shearMeasurementPipe'].map((s) => `wlgc.${s}`).sort();

  it('runs every stage as python3 -m ceci_example <Stage>, reading the merged config; the second run is cached', () => {
    const r = runStages(ws, 'wlgc');
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual(STAGES);
    // The run file's override reached the stage through the merged copy, global keys too.
    expect(readFile(ws, 'results/wlgc/outputs/tomography_catalog.txt')).toBe('WLGCSelector was here (metacalibration=True ra_range=[-5, 5] zbin_edges=[0.2, 0.4, 0.6, 0.8])\n');
    expect(readFile(ws, 'results/wlgc/logs/WLGCSelector.log')).toContain('# command: python3 -m ceci_example WLGCSelector --shear_catalog=results/wlgc/outputs/shear_catalog.txt --photoz_pdfs=results/wlgc/outputs/photoz_pdfs.txt --config=results/wlgc/outputs/config.yml --tomography_catalog=results/wlgc/outputs/tomography_catalog.txt');
    expect(executedStages(runStages(ws, 'wlgc').out)).toEqual([]);
  }, 120_000);

  it('a config value changed for one stage re-runs that stage and its descendants only, although it is not on any command line', () => {
    writeFile(ws, 'pipelines/wlgc/config.yml', readFile(ws, 'pipelines/wlgc/config.yml').replace('apply_flag: false', 'apply_flag: true'));
    const r = runStages(ws, 'wlgc');
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toEqual(['wlgc.SourceSummarizer', 'wlgc.WLGCCov', 'wlgc.WLGCSelector', 'wlgc.WLGCSummaryStatistic', 'wlgc.WLGCTwoPoint', 'wlgc.shearMeasurementPipe']);
    expect(readFile(ws, 'results/wlgc/outputs/shear_catalog.txt')).toContain('apply_flag=True');
  }, 120_000);

  it("lbg-pipelines' layout (configs/runs, configs/pipelines) and a ceci pipeline file in runs/ run as they are", () => {
    writeFile(ws, 'configs/pipelines/sys/pipeline.yaml', 'modules: ceci_example\npython_paths: [pipelines/wlgc/python]\nconfig: configs/pipelines/sys/config.yaml\nstages:\n- name: SysMapMaker\n- name: WLGCRandoms\n');
    writeFile(ws, 'configs/pipelines/sys/config.yaml', 'SysMapMaker: {}\n');
    writeFile(ws, 'configs/runs/sys_sim.yaml', 'resume: False\npipelines: sys\noutput_dir: results/sys_sim/outputs\nlog_dir: results/sys_sim/logs\ninputs:\n  DM: data/wlgc/dm.txt\npre_script: ""\npost_script: ""\n');
    const lbg = nx(ws, ['run-many', '-t', 'stage', '--projects=tag:run:sys_sim', '--outputStyle=static']);
    expect(lbg.status, lbg.out).toBe(0);
    expect(executedStages(lbg.out)).toEqual(['sys_sim.SysMapMaker', 'sys_sim.WLGCRandoms']);
    expect(readFile(ws, 'results/sys_sim/outputs/random_catalog.txt')).toContain('WLGCRandoms was here');
    // ceci's own format: a pipeline file that is its own run.
    writeFile(ws, 'runs/ceci_alone.yml', 'modules: ceci_example\npython_paths: [pipelines/wlgc/python]\nconfig: configs/pipelines/sys/config.yaml\nstages:\n- name: SysMapMaker\ninputs:\n  DM: ./data/wlgc/dm.txt\noutput_dir: ./results/ceci_alone\nlog_dir: ./results/ceci_alone/logs\nresume: True\n');
    const alone = nx(ws, ['run-many', '-t', 'stage', '--projects=tag:run:ceci_alone', '--outputStyle=static']);
    expect(alone.status, alone.out).toBe(0);
    expect(readFile(ws, 'results/ceci_alone/logs/SysMapMaker.log')).toContain('# command: python3 -m ceci_example SysMapMaker --DM=./data/wlgc/dm.txt --config=configs/pipelines/sys/config.yaml --diagnostic_maps=./results/ceci_alone/diagnostic_maps.txt');
  }, 120_000);

  it('a missing required option is a located error before anything runs; a stage that fails stops its descendants only', () => {
    const config = readFile(ws, 'pipelines/wlgc/config.yml');
    writeFile(ws, 'pipelines/wlgc/config.yml', config.replace('  apply_flag: true\n', ''));
    const refused = runStages(ws, 'wlgc');
    expect(refused.status).not.toBe(0);
    expect(refused.out).toContain('stage shearMeasurementPipe needs config option "apply_flag" (bool)');
    // Only the run's own target ran, to report the error: no stage did.
    expect(executedStages(refused.out)).toEqual(['wlgc']);
    writeFile(ws, 'pipelines/wlgc/config.yml', config);
    // PZEstimationPipe cannot read its input now: it and what needs it fail, the rest is cached.
    removeWorkspace(`${ws}/data/wlgc/fiducial_cosmology.txt`);
    writeFile(ws, 'data/wlgc/fiducial_cosmology.txt/x', '');
    const r = runStages(ws, 'wlgc');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/wlgc\/PZEstimationPipe: exited with code 1/);
    expect(r.out).toMatch(/wlgc\/WLGCSelector: skipped: upstream stage (wlgc\/)?PZEstimationPipe failed/);
    expect(() => readFile(ws, 'results/wlgc/outputs/photoz_pdfs.txt')).toThrow();
  }, 120_000);
});
