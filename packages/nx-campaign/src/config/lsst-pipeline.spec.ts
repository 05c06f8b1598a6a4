import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageOf } from '../testing/fixture';
import { flatConfig, loadLsstPipeline, pipelineJson } from './lsst-pipeline';

let dir: string;
const env = () => ({ OBS_PKG_DIR: join(dir, 'obs_pkg'), TOOLS_DIR: join(dir, 'tools') });
const write = (rel: string, text: string) => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
};
const load = (uri: string, absentImports?: 'warn') => loadLsstPipeline(uri, { cwd: dir, env: env(), absentImports });
const problem = (uri: string): string => messageOf(() => load(uri));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lsst-pipeline-'));
  write('obs_pkg/pipelines/base.yaml', `description: base
instrument: lsst.obs.decam.DarkEnergyCamera
parameters:
  use_cells: false
tasks:
  isr: lsst.ip.isr.IsrTask
  calibrateImage:
    class: lsst.pipe.tasks.calibrateImage.CalibrateImageTask
    config:
      connections.stars: preSource
      useCells: parameters.use_cells
  consolidateVisitSummary: lsst.pipe.tasks.postprocess.ConsolidateVisitSummaryTask
  jointcal:
    class: lsst.jointcal.JointcalTask
    config:
      python: |
        config.astrometryModel = "constrained"
  makeWarp: lsst.drp.tasks.make_direct_warp.MakeDirectWarpTask
  assembleCoadd: lsst.drp.tasks.assemble_coadd.CompareWarpAssembleCoaddTask
subsets:
  processCcd: [isr, calibrateImage]
  coaddition:
    subset: [makeWarp, assembleCoadd]
    description: coadds
steps:
  - {label: processCcd, dimensions: [instrument, visit, detector]}
contracts:
  - makeWarp.border >= assembleCoadd.border
`);
  write('pipelines/LV.yaml', `description: |
  LoVoCCS-like pipeline
imports:
  - location: $OBS_PKG_DIR/pipelines/base.yaml
    exclude: [consolidateVisitSummary]
parameters:
  use_cells: true
tasks:
  calibrateImage:
    class: lsst.pipe.tasks.calibrateImage.CalibrateImageTask
    config:
      connections.photometry_ref_cat: sdss_dr9
  makeWarp:
    class: my.own.WarpTask
  checkVisit: lovoccs_pipe.check_visit.CheckVisitTask
subsets:
  step1: [isr, calibrateImage, checkVisit]
  step3:
    subset: [makeWarp, assembleCoadd]
`);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('LSST pipelines, as pipe_base loads them', () => {
  it('imports with $VARIABLES, exclude, config appended for the same class and replaced for another, parameters', () => {
    const p = load('pipelines/LV.yaml');
    expect([...p.tasks.keys()]).toEqual(['isr', 'calibrateImage', 'jointcal', 'makeWarp', 'assembleCoadd', 'checkVisit']);
    expect(p.instrument).toBe('lsst.obs.decam.DarkEnergyCamera');
    const cal = p.tasks.get('calibrateImage')!;
    // same class: the file's config goes on the imported one (merged into its last block), parameter from this file
    expect(flatConfig(cal)).toEqual({ 'connections.stars': 'preSource', useCells: true, 'connections.photometry_ref_cat': 'sdss_dr9' });
    expect(cal.where.file).toBe('pipelines/LV.yaml');
    // another class: replaced, its config gone
    expect(p.tasks.get('makeWarp')).toMatchObject({ class: 'my.own.WarpTask', config: [] });
    expect(p.tasks.get('jointcal')!.config[0].python).toContain('constrained');
    expect([...p.subsets.keys()]).toEqual(['processCcd', 'coaddition', 'step1', 'step3']);
    expect(p.steps).toEqual([{ label: 'processCcd', dimensions: ['instrument', 'visit', 'detector'] }]);
    expect(p.contracts).toEqual(['makeWarp.border >= assembleCoadd.border']);
  });

  it('an include list may name subsets; rename, importSteps: false and EDIT keep what pipe_base keeps', () => {
    write('pipelines/inc.yaml', `description: inc
imports:
  - location: \${OBS_PKG_DIR}/pipelines/base.yaml
    include: [processCcd, jointcal]
    rename: {jointcal: jointcalBand}
    importSteps: false
`);
    const p = load('pipelines/inc.yaml');
    expect([...p.tasks.keys()]).toEqual(['isr', 'calibrateImage', 'jointcalBand']);
    expect([...p.subsets.keys()]).toEqual(['processCcd']);
    expect(p.steps).toEqual([]);
    expect(p.contracts).toEqual([]);
    write('pipelines/edit.yaml', `description: edit
imports:
  - location: $OBS_PKG_DIR/pipelines/base.yaml
    exclude: [assembleCoadd]
    labeledSubsetModifyMode: EDIT
`);
    expect(load('pipelines/edit.yaml').subsets.get('coaddition')!.labels).toEqual(['makeWarp']);
    write('pipelines/drop.yaml', `description: drop
imports:
  - location: $OBS_PKG_DIR/pipelines/base.yaml
    exclude: [assembleCoadd]
`);
    expect(load('pipelines/drop.yaml').subsets.has('coaddition')).toBe(false);
  });

  it('expressions: a label, a subset, a list, a range', () => {
    expect([...load('pipelines/LV.yaml#step1').tasks.keys()]).toEqual(['isr', 'calibrateImage', 'checkVisit']);
    expect([...load('pipelines/LV.yaml#jointcal,step3').tasks.keys()]).toEqual(['jointcal', 'makeWarp', 'assembleCoadd']);
    expect([...load('pipelines/LV.yaml#calibrateImage..makeWarp').tasks.keys()]).toEqual(['calibrateImage', 'jointcal', 'makeWarp']);
    expect([...load('pipelines/LV.yaml#..calibrateImage').tasks.keys()]).toEqual(['isr', 'calibrateImage']);
    expect([...load('pipelines/LV.yaml#assembleCoadd..').tasks.keys()]).toEqual(['assembleCoadd', 'checkVisit']);
    // subsets that lost a label are dropped with the tasks (DROP)
    expect([...load('pipelines/LV.yaml#step1').subsets.keys()]).toEqual(['processCcd', 'step1']);
  });

  it('a bad expression is an error naming what is wrong', () => {
    expect(problem('pipelines/LV.yaml#stepp1')).toMatch(/^pipelines\/LV\.yaml: #stepp1: stepp1 is not a task label or subset of pipelines\/LV\.yaml\n  fix: did you mean step1\?/);
    expect(problem('pipelines/LV.yaml#isr,a..b')).toMatch(/a list of labels or a range, not both/);
    expect(problem('pipelines/LV.yaml#makeWarp..isr')).toMatch(/makeWarp comes after isr/);
    expect(problem('pipelines/LV.yaml#isr..nope')).toMatch(/the end of the range, nope, is not a task/);
  });

  it('located errors: an unset variable, a missing import, a label twice, a repeated key, a subset of unknown labels', () => {
    expect(messageOf(() => loadLsstPipeline('pipelines/LV.yaml', { cwd: dir, env: {} }))).toMatch(/^pipelines\/LV\.yaml:4 \(imports\[0\]\.location\): \$OBS_PKG_DIR\/pipelines\/base\.yaml: the variable OBS_PKG_DIR is not set\n  fix: set OBS_PKG_DIR/);
    write('pipelines/missing.yaml', 'description: m\nimports:\n  - $TOOLS_DIR/pipelines/none.yaml\n');
    expect(problem('pipelines/missing.yaml')).toMatch(/^pipelines\/missing\.yaml:3 \(imports\[0\]\): imported pipeline \$TOOLS_DIR\/pipelines\/none\.yaml not found/);
    write('tools/pipelines/t.yaml', 'description: t\ntasks:\n  isr: lsst.ip.isr.IsrTask\n');
    write('pipelines/twice.yaml', 'description: t\nimports:\n  - $OBS_PKG_DIR/pipelines/base.yaml\n  - $TOOLS_DIR/pipelines/t.yaml\n');
    expect(problem('pipelines/twice.yaml')).toMatch(/^pipelines\/twice\.yaml:2 \(imports\): task labels appear in more than one import: isr/);
    write('pipelines/repeat.yaml', 'description: r\ntasks:\n  isr: lsst.ip.isr.IsrTask\n  isr: lsst.ip.isr.IsrTask\n');
    expect(problem('pipelines/repeat.yaml')).toMatch(/^pipelines\/repeat\.yaml:4 \(tasks\.isr\): key "isr" is repeated \(first at line 3\)\n  fix: pipe_base refuses/);
    write('pipelines/sub.yaml', 'description: s\ntasks:\n  isr: lsst.ip.isr.IsrTask\nsubsets:\n  step1: [isr, calibrate]\n');
    expect(problem('pipelines/sub.yaml')).toMatch(/^pipelines\/sub\.yaml:5 \(subsets\.step1\): labels calibrate of subset step1 were not found/);
    write('pipelines/step.yaml', 'description: s\ntasks:\n  isr: lsst.ip.isr.IsrTask\nsteps:\n  - {label: step1, dimensions: [visit]}\n');
    expect(problem('pipelines/step.yaml')).toMatch(/step1 was declared to be a step, but is not a labeled subset/);
    write('pipelines/nodesc.yaml', 'tasks:\n  isr: lsst.ip.isr.IsrTask\n');
    expect(problem('pipelines/nodesc.yaml')).toMatch(/^pipelines\/nodesc\.yaml:1 \(description\): a pipeline needs a description/);
    write('pipelines/a.yaml', 'description: a\nimports: [pipelines/b.yaml]\n');
    write('pipelines/b.yaml', 'description: b\nimports: [pipelines/a.yaml]\n');
    expect(problem('pipelines/a.yaml')).toMatch(/imports pipelines\/a\.yaml, which imports this file back/);
    expect(problem('pipelines/none.yaml')).toMatch(/pipeline file not found/);
  });

  it('with absentImports: warn, an import not on this machine is a warning and its labels are left out', () => {
    write('pipelines/partial.yaml', 'description: p\nimports:\n  - $OBS_PKG_DIR/pipelines/base.yaml\n  - $TOOLS_DIR/pipelines/quality.yaml\nsubsets:\n  step1: [isr, analyzeQuality]\n');
    expect(problem('pipelines/partial.yaml')).toMatch(/quality\.yaml not found/);
    const p = load('pipelines/partial.yaml#step1', 'warn');
    expect([...p.tasks.keys()]).toEqual(['isr']);
    expect(p.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/quality\.yaml is not on this machine/),
      expect.stringMatching(/subset step1 names 1 label\(s\) not defined here \(analyzeQuality\)/),
      expect.stringMatching(/analyzeQuality not defined here/),
    ]);
  });

  it('as JSON: tasks with merged config, subsets and steps', () => {
    const j = pipelineJson(load('pipelines/LV.yaml#step1'), join(dir, 'pipelines/LV.yaml')) as { tasks: { label: string; config: object }[] };
    expect(j.tasks.map((t) => t.label)).toEqual(['isr', 'calibrateImage', 'checkVisit']);
    expect(j.tasks[1].config).toMatchObject({ 'connections.photometry_ref_cat': 'sdss_dr9' });
  });
});

