import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, copyWorkspace, executedStages, itSlurm, readFile, removeWorkspace, repoRoot, runStages, startNx, writeFile } from './workspace';

/**
 * The LoVoCCS-like Rubin campaign (runs/lovoccs-a85.yaml) through real nx on the stand-in stack
 * (pipelines/rubin/bin first on PATH): pipetask groups on this machine and on the test SLURM,
 * BPS groups as stand-in workflows, pre-flight failures, review gates, re-attaching.
 */
const RUN = 'lovoccs-a85';
const GROUPS = 27;
const BPS_GROUPS = 9;

describe.sequential('Rubin campaign', () => {
  let ws: string;
  let env: Record<string, string>;
  const bpsRuns = () => {
    const path = join(env.BPS_STANDIN_HOME, 'bps', 'runs.sqlite3');
    if (!existsSync(path)) return [];
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT id, name, state FROM runs ORDER BY id').all() as { id: number; name: string; state: string }[];
    } finally {
      db.close();
    }
  };
  const butler = (args: string[]) => spawnSync(join(ws, 'pipelines/rubin/bin/butler'), args, { cwd: ws, encoding: 'utf8' });
  const attempts = (stage: string, run = RUN) => {
    const db = new Database(join(ws, '.campaign/record.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT a.backend, a.job_id, a.state, a.message, a.script_sha256, a.data_query, a.output_collection FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? AND a.stage = ? ORDER BY a.id').all(run, stage) as Record<string, string | null>[];
    } finally {
      db.close();
    }
  };

  beforeAll(() => {
    ws = copyWorkspace();
    env = { PATH: `${join(ws, 'pipelines/rubin/bin')}:${process.env.PATH}`, BPS_STANDIN_HOME: join(ws, '.bps-standin') };
  });
  afterAll(() => removeWorkspace(ws));

  it('runs every group through nx run-many (pipetask here, the bulk steps as BPS workflows), checks their datasets, and is cached the second time', () => {
    const r = runStages(ws, RUN, ['--pollInterval=1'], env);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toHaveLength(GROUPS);
    // check_visit kept the visits with good seeing: step2a ran on those only.
    expect(readFile(ws, 'results/lovoccs-a85/logs/check_visit_u.log')).toMatch(/visit 1005 rejected: seeing 1\.75 > 1\.68/);
    expect(readFile(ws, 'results/lovoccs-a85/logs/step2a_u.quantum-graph.log')).toMatch(/QuantumGraph contains 1 quantum for 1 task/);
    const coadds = butler(['query-datasets', 'data/rubin/repo', 'deepCoadd_forced_src', '--collections', 'u/demo/a85/step3c/step3c_g']);
    expect(coadds.status, coadds.stderr).toBe(0);
    expect(coadds.stdout).toMatch(/^deepCoadd_forced_src u\/demo\/a85\/step3c\/step3c_g\/\d{8}T\d{6}Z /m);
    // Each BPS group is one workflow, its run id, submit file, query and output in the record.
    expect(bpsRuns().map((x) => x.state)).toEqual(Array(BPS_GROUPS).fill('SUCCEEDED'));
    const [g] = attempts('step1_g');
    expect(g).toMatchObject({ backend: 'bps', state: 'succeeded', data_query: "instrument = 'DECam' AND band = 'g'", output_collection: 'u/demo/a85/step1/step1_g' });
    expect(Number(g.job_id)).toBeGreaterThan(0);
    expect(g.script_sha256).toMatch(/^[0-9a-f]{64}$/);
    const report = campaign(ws, ['report', RUN]);
    expect(report.status, report.out).toBe(0);
    expect(report.out).toMatch(/^ {2}step1 {8}3\/3 groups {2}accepted$/m);
    const again = runStages(ws, RUN, ['--pollInterval=1'], env);
    expect(again.status, again.out).toBe(0);
    expect(executedStages(again.out)).toEqual([]);
    expect(bpsRuns()).toHaveLength(BPS_GROUPS);
  }, 240_000);

  it('a missing prerequisite input stops its group at pre-flight, nothing submitted, with the tool\'s message and the command to reproduce it', () => {
    const file = readFile(ws, `runs/${RUN}.yaml`);
    writeFile(ws, 'runs/lv-missing.yaml', file.replace('photometry_ref_cat=sdss_dr9', 'photometry_ref_cat=ps1_pv3_3pi').replace('output: u/demo/a85', 'output: u/demo/missing'));
    const before = bpsRuns().length;
    const r = runStages(ws, 'lv-missing', ['--pollInterval=1'], env);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/lv-missing\/step1_u: pre-flight quantum graph failed, nothing submitted: FileNotFoundError: Not enough datasets \(0\) found for non-optional connection calibrateImage\.photometry_ref_cat \(ps1_pv3_3pi\) with minimum=1 for quantum data ID \{instrument: 'DECam', detector: 1, visit: 1002,/);
    expect(r.out).toMatch(/ {2}reproduce: pipetask --long-log --log-level=VERBOSE qgraph -b data\/rubin\/repo .*-c calibrateImage:connections\.photometry_ref_cat=ps1_pv3_3pi --save-qgraph results\/lv-missing\/outputs\/step1_u\.qgraph/);
    expect(r.out).toMatch(/lv-missing\/check_visit_u: skipped: upstream stage step1_u failed/);
    // g and r went on: two workflows more, none for u.
    expect(bpsRuns().length - before).toBe(2 + 2 * 2);
    expect(bpsRuns().slice(before).some((x) => x.name.includes('step1_u'))).toBe(false);
  }, 240_000);

  it('a review gate holds the steps after it until the step is accepted, recorded with who and when', () => {
    const file = readFile(ws, `runs/${RUN}.yaml`).replace('output: u/demo/a85', 'output: u/demo/gate');
    writeFile(ws, 'runs/lv-gate.yaml', file.replace('  - name: check_visit\n', '  - name: check_visit\n    review: true\n'));
    const r = runStages(ws, 'lv-gate', ['--pollInterval=1'], env);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/lv-gate\/step2a_g: waiting for review: step check_visit is not accepted yet; when its results are good: npx campaign accept lv-gate check_visit/);
    expect(campaign(ws, ['report', 'lv-gate']).out).toMatch(/check_visit {2}3\/3 groups {2}reviewable: npx campaign accept lv-gate check_visit/);
    const ok = campaign(ws, ['accept', 'lv-gate', 'check_visit', '--note', 'seeing cut looks right']);
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toMatch(/^accepted step check_visit of lv-gate \(review gate\) as \S+ at \d{4}-\d\d-\d\dT/);
    expect(campaign(ws, ['accept', 'lv-gate', 'nope']).out).toMatch(/lv-gate has no step nope; its steps: step1, check_visit, step2a/);
    const after = runStages(ws, 'lv-gate', ['--pollInterval=1'], env);
    expect(after.status, after.out).toBe(0);
    expect(executedStages(after.out)).toHaveLength(GROUPS - 6);
    expect(campaign(ws, ['report', 'lv-gate']).out).toMatch(/check_visit {2}3\/3 groups {2}accepted by \S+ at /);
  }, 240_000);

  it('killed mid-campaign, run again: the BPS workflows are re-attached from the record, nothing is submitted twice', async () => {
    const file = readFile(ws, `runs/${RUN}.yaml`).replace('output: u/demo/a85', 'output: u/demo/kill');
    // step1 slow enough to be killed during: 4 quanta x 4 s per band.
    writeFile(ws, 'runs/lv-kill.yaml', file.replace('    mode: bps\n    split:\n      by: values', '    mode: bps\n    config: ["calibrateImage:standinSeconds=4"]\n    split:\n      by: values'));
    const before = bpsRuns().length;
    // BPS answers each submission 3 s after making its workflow: nx is killed while it waits for
    // an answer, so the record never hears of that workflow (its marker says it was in flight).
    const nx = startNx(ws, 'lv-kill', ['--pollInterval=1'], { ...env, BPS_STANDIN_SUBMIT_PAUSE: '3' });
    for (let t = Date.now(); bpsRuns().length < before + 3 && Date.now() - t < 60_000; ) await new Promise((r) => setTimeout(r, 200));
    expect(bpsRuns().length - before, nx.out()).toBe(3);
    await nx.kill();
    expect(attempts('step1_g', 'lv-kill').length + attempts('step1_r', 'lv-kill').length + attempts('step1_u', 'lv-kill').length).toBeLessThan(3);
    expect(bpsRuns().slice(before).every((x) => x.state !== 'SUCCEEDED'), JSON.stringify(bpsRuns())).toBe(true);
    const r = runStages(ws, 'lv-kill', ['--pollInterval=1'], env);
    expect(r.status, r.out).toBe(0);
    // 3 step1 workflows (re-attached, not submitted again) + 6 of step3a and step3b.
    expect(bpsRuns().length - before).toBe(BPS_GROUPS);
    for (const g of ['step1_g', 'step1_r', 'step1_u']) {
      expect(attempts(g, 'lv-kill'), g).toHaveLength(1);
      expect(Number(attempts(g, 'lv-kill')[0].job_id)).toBeGreaterThan(before);
    }
    expect(readFile(ws, 'results/lv-kill/logs/step1_u.log') + readFile(ws, 'results/lv-kill/logs/step1_r.log') + readFile(ws, 'results/lv-kill/logs/step1_g.log')).toMatch(/was submitted by an nx that stopped before recording it: followed, not submitted again/);
  }, 240_000);

  itSlurm('runs the pipetask groups as SLURM jobs on the test SLURM', () => {
    writeFile(ws, 'sites.yaml', 'sites:\n  testslurm:\n    backend: slurm\n    partition: debug\n    node_classes:\n      - {name: vm, count: 1, cores: 16, memory: 8000M}\n');
    const file = readFile(ws, `runs/${RUN}.yaml`).replace('output: u/demo/a85', 'output: u/demo/slurm').replace(/    mode: bps\n/g, '');
    writeFile(ws, 'runs/lv-slurm.yaml', `${file.split('  - name: step2a')[0]}site: testslurm\n`);
    const r = runStages(ws, 'lv-slurm', ['--pollInterval=1'], env);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toHaveLength(6);
    const [a] = attempts('check_visit_g', 'lv-slurm');
    expect(a).toMatchObject({ backend: 'slurm', state: 'succeeded' });
    expect(Number(a.job_id)).toBeGreaterThan(0);
  }, 240_000);

  it('plans the DP0.2-like campaign: 40,000 visits in groups of 1,000 over six steps, against its deadline', () => {
    const made = spawnSync(join(ws, 'pipelines/rubin/bin/make-demo-repo'), ['data/rubin/dp02', '--instrument', 'LSSTCam-imSim', '--bands', 'u,g,r,i,z,y', '--visits', '40000', '--detectors', '1', '--no-files'], { cwd: ws, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const r = campaign(ws, ['plan', 'pipelines/rubin/dp02-plan.yaml', '--json'], env);
    expect(r.status, r.out).toBe(0);
    const plan = JSON.parse(r.stdout) as { stages: { name: string }[]; meetsDeadline: boolean; site: string };
    const per = (step: string) => plan.stages.filter((s) => s.name === step || s.name.startsWith(`${step}_`)).length;
    expect([1, 2, 3, 4, 5, 6].map((i) => per(`step${i}`))).toEqual([40, 1, 6, 40, 6, 1]);
    expect([plan.site, plan.meetsDeadline]).toEqual(['perlmutter', true]);
    expect(readFileSync(join(repoRoot, 'pipelines/rubin/dp02-plan.yaml'), 'utf8')).toContain('make-demo-repo data/rubin/dp02');
  });
});
