import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageOf } from '../testing/fixture';
import { stageInvocation } from '../model/command';
import { loadRun } from './run';

let dir: string;
let path: string | undefined;
const write = (rel: string, text: string) => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
};
const PIPELINE = `description: p
instrument: lsst.obs.decam.DarkEnergyCamera
tasks:
  isr: lsst.ip.isr.IsrTask
  calibrateImage: lsst.pipe.tasks.calibrateImage.CalibrateImageTask
  checkVisit: lovoccs_pipe.check_visit.CheckVisitTask
  jointcal: lsst.jointcal.JointcalTask
subsets:
  step1: [isr, calibrateImage]
  step2: [jointcal]
`;
const campaign = (steps: string, extra = '') => `pipeline: pipelines/p.yaml
butler: repo
inputs: [DECam/defaults]
query: "instrument = 'DECam'"
output: u/me/c
${extra}steps:
${steps}`;
const load = (text: string) => {
  write('runs/c.yaml', text);
  return loadRun(dir, 'runs/c.yaml');
};
const problem = (text: string): string => messageOf(() => load(text));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rubin-campaign-'));
  write('pipelines/p.yaml', PIPELINE);
  mkdirSync(join(dir, 'repo'));
  path = process.env.PATH;
});
afterEach(() => {
  process.env.PATH = path;
  rmSync(dir, { recursive: true, force: true });
});

/** A butler on PATH that answers query-data-ids with `visits` (astropy's table) and logs its arguments. */
function fakeButler(visits: number[]) {
  write('bin/butler', `#!/bin/sh
echo "$@" >> "${dir}/butler-calls"
echo "instrument visit"
echo "---------- -----"
${visits.map((v) => `echo "     DECam ${v}"`).join('\n')}
`);
  chmodSync(join(dir, 'bin/butler'), 0o755);
  process.env.PATH = `${join(dir, 'bin')}:${path}`;
}

describe('Rubin campaigns', () => {
  it('a step per band: groups, their queries, per-band overrides, matching groups of the next step', () => {
    const run = load(campaign(`  - name: step1
    split:
      by: values
      dimension: band
      values:
        g:
        u: {config: ["calibrateImage:connections.photometry_ref_cat=sdss_dr9"]}
    config: ["isr:doBias=False"]
    resources: {cores: 4, memory: 3G}
    produces: [calexp]
  - name: check
    tasks: "#checkVisit"
    split: {by: values, dimension: band, values: [g, u]}
  - name: step2
    query: "detector != 3"
    constraint: visit_quality
`));
    expect(run.stages).toEqual(['step1_g', 'step1_u', 'check_g', 'check_u', 'step2']);
    expect(run.dag.parents.get('check_u')).toEqual(['step1_u']);
    expect(run.dag.parents.get('step2')).toEqual(['check_g', 'check_u']);
    const u = stageInvocation(dir, run, 'step1_u');
    expect(u.stage.resources).toMatchObject({ ranks: 1, threads: 4, memoryMBPerNode: 3000 });
    expect(u.argv).toEqual(['pipetask', '--long-log', '--log-level=VERBOSE', 'run', '-b', 'repo', '-i', 'DECam/defaults', '-o', 'u/me/c/step1/step1_u', '-g', 'results/c/outputs/step1_u.qgraph', '-j', '4', '--register-dataset-types']);
    expect(u.cwd).toBe(dir);
    const qgraph = u.checks.before[0];
    expect(qgraph).toMatchObject({ kind: 'command', what: 'quantum graph' });
    expect(qgraph.kind === 'command' && qgraph.argv).toEqual(['pipetask', '--long-log', '--log-level=VERBOSE', 'qgraph', '-b', 'repo', '-i', 'DECam/defaults', '-o', 'u/me/c/step1/step1_u', '-p', 'pipelines/p.yaml#step1', '-d', "instrument = 'DECam' AND band = 'u'", '-c', 'isr:doBias=False', '-c', 'calibrateImage:connections.photometry_ref_cat=sdss_dr9', '--save-qgraph', 'results/c/outputs/step1_u.qgraph']);
    expect(u.checks.after).toEqual([{ kind: 'datasets', butler: 'repo', collection: 'u/me/c/step1/step1_u', datasetTypes: ['calexp'] }]);
    const s2 = stageInvocation(dir, run, 'step2');
    expect(s2.argv.slice(6, 10)).toEqual(['-i', 'u/me/c/check/check_g,u/me/c/check/check_u,DECam/defaults', '-o', 'u/me/c/step2']);
    const q2 = s2.checks.before[0];
    expect(q2.kind === 'command' && q2.argv).toEqual(expect.arrayContaining(['-d', "instrument = 'DECam' AND detector != 3", '--dataset-query-constraint', 'visit_quality', '-p', 'pipelines/p.yaml#step2']));
    // the step's tasks and their config are part of its identity (a change in an import outside the workspace counts)
    expect(run.dag.stages.get('step2')!.config.tasks).toEqual({ jointcal: { class: 'lsst.jointcal.JointcalTask', config: {} } });
  });

  it('a split by query asks the butler for the values and cuts them in groups of at most max_size', () => {
    fakeButler([5, 1, 3, 2, 4, 6, 7]);
    const run = load(campaign(`  - name: step1
    query: "band = 'g'"
    split: {by: query, dimension: visit, dataset: raw, max_size: 3}
  - name: step2
    review: true
  - name: step3
    tasks: "#checkVisit"
`));
    expect(run.stages).toEqual(['step1_group_000', 'step1_group_001', 'step1_group_002', 'step2', 'step3']);
    expect(run.dag.stages.get('step1_group_000')!.config.query).toBe("instrument = 'DECam' AND band = 'g' AND 1 <= visit AND visit < 3");
    expect(run.dag.stages.get('step1_group_002')!.config.query).toBe("instrument = 'DECam' AND band = 'g' AND 5 <= visit");
    expect(readFileSync(join(dir, 'butler-calls'), 'utf8')).toBe("query-data-ids repo visit --limit 0 --collections DECam/defaults --datasets raw --where instrument = 'DECam' AND band = 'g'\n");
    // the step after a reviewed one waits for its acceptance
    expect(run.dag.stages.get('step3')!.checks!.before![0]).toEqual({ kind: 'accepted', step: 'step2' });
    expect(run.dag.stages.get('step2')!.checks!.before).toHaveLength(1);
  });

  it('located errors: an unknown subset, an override of a task the step does not run, a prerequisite after, a bad value', () => {
    expect(problem(campaign('  - name: stepp1\n'))).toMatch(/^runs\/c\.yaml:7 \(steps\.0\.name\): #stepp1: stepp1 is not a task label or subset of pipelines\/p\.yaml\n  fix: did you mean step1\?; a step runs the pipeline subset of its name/);
    expect(problem(campaign('  - name: a\n    tasks: "#nope"\n'))).toMatch(/^runs\/c\.yaml:8 \(steps\.0\.tasks\): #nope/);
    expect(problem(campaign('  - name: step1\n    config: ["jointcal:x=1"]\n'))).toMatch(/^runs\/c\.yaml:8 \(steps\.0\.config\.0\): jointcal is not a task of step step1 \(isr, calibrateImage\)/);
    expect(problem(campaign('  - name: step1\n    config: ["isr.doBias=False"]\n'))).toMatch(/"isr\.doBias=False" is not label:field=value/);
    expect(problem(campaign('  - name: step1\n    prerequisites: [step2]\n  - name: step2\n'))).toMatch(/\(steps\.0\.prerequisites\.0\): step step2 comes after step1/);
    expect(problem(campaign('  - name: step1\n    split: {by: values, dimension: band, values: ["g\' OR 1=1"]}\n'))).toMatch(/split value "g' OR 1=1" is not a plain value/);
    expect(problem(campaign('  - name: step1\n    produces: [calexp]\n  - name: step2\n    split: {by: query, dimension: visit, dataset: calexp}\n'))).toMatch(/split by query on calexp, which step step1 produces/);
    expect(problem(campaign('  - name: step1\n  - name: step1\n    tasks: "#step2"\n'))).toMatch(/step step1 is listed twice/);
    expect(problem(campaign('  - name: step1\n', 'bogus: 1\n'))).toMatch(/bogus/);
  });

  it('a split by query without a butler on PATH says how to get one', () => {
    process.env.PATH = '/nonexistent';
    expect(problem(campaign('  - name: step1\n    split: {by: query, dimension: visit}\n'))).toMatch(/could not query the values of visit: butler is not on PATH\n  fix: set up the LSST stack/);
  });
});
