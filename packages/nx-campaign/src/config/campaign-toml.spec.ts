import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture, problemsOf } from '../testing/fixture';
import { loadRun } from './run';

/** A workspace with a context, a 12-observation obsdb, an area and a schedule. */
function workspace(toml: string): string {
  const root = fixture({
    'nx.json': '{}',
    'data/context.yaml': 'obsdb: obsdb.sqlite\n',
    'data/area.fits': 'SIMPLE = T\n',
    'data/pre.yaml': 'process_pipe: []\n',
    'data/src.fits': 'SIMPLE = T\n',
    'data/schedule.txt': 'schedule\n',
    'data/ps/params.dict': 'x = 1\n',
    'data/ps/spectra.py': 'print(1)\n',
    'runs/c.toml': toml,
  });
  const db = new Database(join(root, 'data/obsdb.sqlite'));
  db.exec('CREATE TABLE obs (obs_id TEXT, timestamp REAL, az_center REAL, el_center REAL, pwv REAL, wafer_slots_list TEXT, tube_slot TEXT, n_samples INTEGER)');
  const ins = db.prepare('INSERT INTO obs VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  for (let i = 0; i < 12; i++) ins.run(`o${String(i).padStart(2, '0')}`, 1740787200 + i * 7200, i % 2 ? 120 : 240, 40 + i * 2, 0.5 + i * 0.25, i % 3 ? 'ws0' : 'ws0,ws1', 'i1', 1000);
  db.close();
  return root;
}

const load = (root: string) => loadRun(root, 'runs/c.toml');
const argvOf = (root: string, stage: string) => load(root).dag.stages.get(stage)!.argv as string[];
const messages = (root: string) => load(root).warnings.map((w) => `${w.line} ${w.key}: ${w.message}`);

const MAPPING = `context = "file://data/context.yaml"
area = "file://data/area.fits"
output_dir = "out/maps"
preprocess_config = "file://data/pre.yaml"
`;
const CAMPAIGN = '[campaign]\ndeadline = "1d"\nexecution_schema = "batch"\nrequested_resources = 8\n';
const RESOURCES = (table: string) => `[campaign.${table}.resources]\nranks = 1\nthreads = 1\nmemory = "1G"\nruntime = "1h"\n`;

describe('socm TOML campaigns', () => {
  it('ml-mapmaking: socm\'s positionals, then --key=value for every key set (known or not), sorted, as Python prints them', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}query = "el_center > 50"\nmaxiter = "200, 200"\ndownsample = [4, 2]\ncomps = "TQU"\nbands = "f090"\ntiled = 1\nsrcsamp = "file://data/src.fits"\nunit = 'K'\nscale = 2.0\nflag = true\n${RESOURCES('ml-mapmaking')}`);
    expect(argvOf(root, 'ml-mapmaking')).toEqual([
      'so-site-pipeline', 'make-ml-map', 'el_center > 50', join(root, 'data/area.fits'), join(root, 'out/maps'), join(root, 'data/pre.yaml'),
      '--bands=f090', '--comps=TQU', `--context=${join(root, 'data/context.yaml')}`, '--downsample=4,2', '--flag=True', '--maxiter=200,200', '--scale=2.0', `--srcsamp=${join(root, 'data/src.fits')}`, '--tiled=1', '--unit=K',
    ]);
    expect(load(root).warnings).toEqual([]);
  });

  it('passes an unknown key on, warning when it looks like a typo of a known option', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}maxiterr = 10\n${RESOURCES('ml-mapmaking')}`);
    expect(argvOf(root, 'ml-mapmaking')).toContain('--maxiterr=10');
    expect(messages(root)).toEqual(['10 campaign.ml-mapmaking.maxiterr: "maxiterr" is not a ml-mapmaking option: it is passed on as --maxiterr=..., as socm does; did you mean "maxiter"?']);
  });

  it('sat-sims: --out first, then every field including the defaults, sorted, booleans as --X.enable / --X.disable, socm\'s renames', () => {
    const root = workspace(`${CAMPAIGN}[campaign.sat-sims]\noutput_dir = "out/sims"\nschedule = "file://data/schedule.txt"\nbands = "SAT_f150"\nscan_map = true\nfilterbin_name = "f1"\n${RESOURCES('sat-sims')}`);
    expect(argvOf(root, 'sat-sims')).toEqual([
      'toast_so_sim', '--out', join(root, 'out/sims'), '--bands=SAT_f150', '--filterbin.name=f1', '--pixels_healpix_radec.nside=512', '--sample_rate=37', '--scan_map.enable', `--schedule=${join(root, 'data/schedule.txt')}`,
      '--sim_atmosphere.disable', '--sim_hwpss.disable', '--sim_noise.disable', '--sim_sss.disable', '--wafer_slots=w25',
    ]);
  });

  it('power-spectra: python -u <script> <every script_arg> --<flag> ... --<key>=<value> for the other keys', () => {
    const root = workspace(`${CAMPAIGN}[campaign.power-spectra]\nsubcommand = "data/ps/spectra.py"\nscript_args = ["file://data/ps/params.dict", "plain"]\nscript_flags = ["simulate-syst", "simulate-lens"]\nstart = 0\nnside = 16\n${RESOURCES('power-spectra')}`);
    expect(argvOf(root, 'power-spectra')).toEqual(['python', '-u', join(root, 'data/ps/spectra.py'), join(root, 'data/ps/params.dict'), 'plain', '--simulate-syst', '--simulate-lens', '--nside=16', '--start=0']);
  });

  it('ml-null-tests: socm\'s registry order, split folders from 1, query.txt as the query, knobs set are passed and the rest are not', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-null-tests]
${MAPPING}maxiter = "20"
chunk_nobs = 2
[campaign.ml-null-tests.resources]
memory = "2G"
runtime = "1h"
[campaign.ml-null-tests.pwv-tests]
pwv_limit = 2
[campaign.ml-null-tests.pwv-tests.resources]
threads = 4
[campaign.ml-null-tests.mission-tests]
nsplits = 3
maxiter = "50"
`);
    const run = load(root);
    expect(run.stages).toEqual([
      'ml-null-tests.mission-tests.mission_split_1', 'ml-null-tests.mission-tests.mission_split_2', 'ml-null-tests.mission-tests.mission_split_3',
      'ml-null-tests.pwv-tests.pwv_high_split_1', 'ml-null-tests.pwv-tests.pwv_high_split_2', 'ml-null-tests.pwv-tests.pwv_low_split_1', 'ml-null-tests.pwv-tests.pwv_low_split_2',
    ]);
    const mission = run.dag.stages.get('ml-null-tests.mission-tests.mission_split_1')!;
    const dir = join(root, 'out/maps/mission_split_1');
    expect(mission.argv).toEqual(['so-site-pipeline', 'make-ml-map', join(dir, 'query.txt'), join(root, 'data/area.fits'), dir, join(root, 'data/pre.yaml'), `--context=${join(root, 'data/context.yaml')}`, '--maxiter=50']);
    // 12 observations in chunks of 2 -> 6 chunks dealt to 3 splits: chunks 0 and 3 -> split 1.
    expect(mission.files).toEqual({ [join(dir, 'query.txt')]: 'o00\no01\no06\no07\n' });
    expect(mission.given).toEqual({ split: 'mission_split_1', obs_ids: ['o00', 'o01', 'o06', 'o07'] });
    const pwv = run.dag.stages.get('ml-null-tests.pwv-tests.pwv_low_split_1')!;
    expect((pwv.argv as string[]).slice(6)).toEqual([`--context=${join(root, 'data/context.yaml')}`, '--maxiter=20', '--pwv_limit=2.0']);
    expect([mission.resources.memoryTotalMB, mission.resources.threads, pwv.resources.memoryTotalMB, pwv.resources.threads]).toEqual([2000, 1, 2000, 4]);
    // The test's own maxiter wins over the shared one; socm would use the shared one.
    expect(messages(root)).toEqual([`21 campaign.ml-null-tests.mission-tests.maxiter: "50" is used, not the "20" of campaign.ml-null-tests.maxiter (line 10): socm would use "20", since its shared keys win`]);
  });

  it('wafer-tests: one split folder per wafer with --wafer=<ws>, from a file:// list of obs ids', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-null-tests.wafer-tests]\n${MAPPING}query = "file://data/ids.txt"\nchunk_nobs = 1\nnsplits = 1\n${RESOURCES('ml-null-tests.wafer-tests')}`);
    writeFileSync(join(root, 'data/ids.txt'), 'o00\no04\nnot-there\n');
    const run = load(root);
    expect(run.stages).toEqual(['ml-null-tests.wafer-tests.wafer_ws0_split_1', 'ml-null-tests.wafer-tests.wafer_ws1_split_1']);
    expect(run.dag.stages.get('ml-null-tests.wafer-tests.wafer_ws1_split_1')!.argv).toContain('--wafer=ws1');
    expect(run.dag.stages.get('ml-null-tests.wafer-tests.wafer_ws1_split_1')!.given).toMatchObject({ obs_ids: ['o00'] });
    expect(messages(root)).toEqual(['10 campaign.ml-null-tests.wafer-tests.query: 1 obs id(s) of file://data/ids.txt are not in the obsdb (not-there); they are left out, as socm does']);
  });

  it('memory is the workflow\'s total (memory_per_node gives it per node); a bare number is MB, with a warning that socm reads bytes', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}[campaign.ml-mapmaking.resources]\nranks = 4\nthreads = 2\nmemory = "80000"  # in MBs\nruntime = "7200"\n`);
    const r = load(root).dag.stages.get('ml-mapmaking')!.resources;
    expect(r).toMatchObject({ ranks: 4, threads: 2, memoryMBPerNode: 80000, memoryTotalMB: 80000, runtimeSeconds: 7200 });
    expect(messages(root)).toEqual([`13 campaign.ml-mapmaking.resources.memory: memory "80000" has no unit: read as 80000 MB, as socm's documentation means it; socm itself reads a bare number as bytes (0.08 MB)`]);
    const perNode = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}[campaign.ml-mapmaking.resources]\nmemory_per_node = "48G"\n`);
    expect(load(perNode).dag.stages.get('ml-mapmaking')!.resources).toMatchObject({ memoryMBPerNode: 48000 });
    expect(load(perNode).dag.stages.get('ml-mapmaking')!.resources.memoryTotalMB).toBeUndefined();
  });

  it('as socm: the site defaults to tiger3; what socm refuses a campaign without is a warning naming the key', () => {
    const root = workspace(`[campaign]\n[campaign.ml-mapmaking]\n${MAPPING}`);
    const run = load(root);
    expect(run.site).toBe('tiger3');
    expect(messages(root)).toEqual([
      '1 campaign.deadline: no deadline: socm refuses a campaign without it; planned without a deadline',
      '1 campaign.execution_schema: no execution_schema: socm refuses a campaign without it',
      '1 campaign.requested_resources: no requested_resources: socm refuses a campaign without it; planned on the whole site',
      '2 campaign.ml-mapmaking: no [campaign.ml-mapmaking.resources]: socm refuses a workflow without it; planned with 1 rank x 1 thread, 2G, 1h',
    ]);
  });

  it('a query that selects nothing is an error; a context not on this machine is a warning; a campaign left with no stage is an error', () => {
    const empty = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}query = "pwv > 100"\n${RESOURCES('ml-mapmaking')}[campaign.ml-null-tests.pwv-tests]\n${MAPPING}query = "pwv > 100"\nchunk_nobs = 1\n${RESOURCES('ml-null-tests.pwv-tests')}`);
    expect(problemsOf(() => load(empty)).map((p) => `${p.line} ${p.key}: ${p.message}`)).toEqual(['10 campaign.ml-mapmaking.query: query "pwv > 100" selects no observation of the obsdb: the map would be empty']);
    const noSplits = workspace(`${CAMPAIGN}[campaign.ml-null-tests.pwv-tests]\n${MAPPING}query = "pwv > 100"\nchunk_nobs = 1\n${RESOURCES('ml-null-tests.pwv-tests')}`);
    expect(problemsOf(() => load(noSplits)).map((p) => `${p.line} ${p.key}: ${p.message}`)).toEqual(['10 campaign.ml-null-tests.pwv-tests.query: query "pwv > 100" selects no observation of the obsdb: ml-null-tests.pwv-tests would have no stage']);
    const away = workspace(`${CAMPAIGN}[campaign.ml-null-tests.mission-tests]\ncontext = "file:///scratch/nowhere/context.yaml"\narea = "file://data/area.fits"\noutput_dir = "out"\npreprocess_config = "file://data/pre.yaml"\nchunk_nobs = 1\n${RESOURCES('ml-null-tests.mission-tests')}`);
    const problems = problemsOf(() => load(away));
    expect(problems.map((p) => `${p.line} ${p.key}: ${p.message}`)).toEqual([
      '1 campaign: the campaign has no stage: every workflow above made none',
      '6 campaign.ml-null-tests.mission-tests.context: context /scratch/nowhere/context.yaml does not exist: the splits cannot be made here, so ml-null-tests.mission-tests has no stage',
    ]);
  });

  it('chunk_nobs is needed and chunk_duration is not supported (as in socm), each at its line', () => {
    const duration = problemsOf(() => load(workspace(`${CAMPAIGN}[campaign.ml-null-tests.direction-tests]\n${MAPPING}chunk_duration = "1d"\n`)));
    expect(duration).toMatchObject([{ line: 10, key: 'campaign.ml-null-tests.direction-tests.chunk_duration', message: expect.stringContaining('not supported') }]);
    const none = problemsOf(() => load(workspace(`${CAMPAIGN}[campaign.ml-null-tests.direction-tests]\n${MAPPING}`)));
    expect(none).toMatchObject([{ line: 5, key: 'campaign.ml-null-tests.direction-tests.chunk_nobs', message: expect.stringContaining('chunk_nobs is not set') }]);
  });

  it('errors name the file, the line, the key and the fix', () => {
    const syntax = problemsOf(() => load(workspace('[campaign]\ndeadline = 2d\n')));
    expect(syntax).toMatchObject([{ file: 'runs/c.toml', line: 2, message: expect.stringMatching(/^not valid TOML/) }]);

    const unknown = problemsOf(() => load(workspace(`${CAMPAIGN}\n[campaign.ml-mapmakng]\n${MAPPING}`)));
    expect(unknown).toMatchObject([{ line: 6, key: 'campaign.ml-mapmakng', message: 'unknown workflow type "ml-mapmakng" (did you mean "ml-mapmaking"?)', fix: expect.stringContaining('ml-mapmaking, sat-sims, power-spectra, ml-null-tests.mission-tests') }]);

    const test = problemsOf(() => load(workspace(`${CAMPAIGN}[campaign.ml-null-tests.lunar-tests]\nchunk_nobs = 1\n`)));
    expect(test).toMatchObject([{ line: 5, message: 'unknown null test "lunar-tests"', fix: expect.stringContaining('mission-tests, wafer-tests, direction-tests') }]);

    const policy = problemsOf(() => load(workspace(`[campaign]\npolicy = "cost"\n[campaign.ml-mapmaking]\n${MAPPING}`)));
    expect(policy).toMatchObject([{ line: 2, key: 'campaign.policy', message: expect.stringMatching(/policy "time" is the only one/i) }]);

    const type = problemsOf(() => load(workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}tiled = "yes"\n`)));
    expect(type).toMatchObject([{ line: 10, key: 'campaign.ml-mapmaking.tiled' }]);

    const query = problemsOf(() => load(workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}query = "elevation > 50"\n`)));
    expect(query).toMatchObject([{ line: 5, key: 'campaign.ml-mapmaking', message: 'query "elevation > 50" is not a condition on the obs table: elevation is not a column of the obs table' }]);
  });

  it.each([
    ['the workspace root', '.', 'is the workspace root'],
    ['a folder above it', '..', 'is the workspace root or holds it'],
    ['the folder of its context', 'data', 'holds context (file://data/context.yaml)'],
  ])('refuses %s as a workflow\'s output_dir, at that key', (_, dir, why) => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING.replace('output_dir = "out/maps"', `output_dir = "${dir}"`)}${RESOURCES('ml-mapmaking')}`);
    expect(problemsOf(() => load(root))).toMatchObject([{ line: 8, key: 'campaign.ml-mapmaking.output_dir', message: expect.stringContaining(why), fix: 'give the workflow a folder of its own, e.g. results/c/maps' }]);
  });

  it('a custom type declares default resources, and files that order its stages after those writing them', () => {
    const root = workspace(`${CAMPAIGN}[campaign.produce]\nout = "results/c/outputs/a.txt"\n[campaign.produce.resources]\nthreads = 2\n[campaign.consume]\nin = "results/c/outputs/a.txt"\n`);
    symlinkSync(resolve(__dirname, '../../../../node_modules'), join(root, 'node_modules'));
    mkdirSync(join(root, 'workflows'));
    writeFileSync(join(root, 'workflows/produce.js'), `const { defineWorkflow, z } = require('nx-campaign/workflow');
module.exports = defineWorkflow({ name: 'produce', description: 'writes a file', options: z.strictObject({ out: z.string() }), resources: { threads: 4, memory: '3G' },
  stages: (o, ctx) => [{ name: ctx.table, argv: ['sh', '-c', 'echo x > "$0"', ctx.folder(o.out)], outputs: [o.out] }] });
`);
    writeFileSync(join(root, 'workflows/consume.js'), `const { defineWorkflow, z } = require('nx-campaign/workflow');
module.exports = defineWorkflow({ name: 'consume', description: 'reads it', options: z.strictObject({ in: z.string() }),
  stages: (o, ctx) => [{ name: ctx.table, argv: ['cat', ctx.folder(o.in)], inputs: [o.in] }] });
`);
    const run = loadRun(root, 'runs/c.toml');
    expect(run.dag.parents.get('consume')).toEqual(['produce']);
    expect(run.dag.stages.get('produce')!.resources).toMatchObject({ threads: 2, memoryMBPerNode: 3000 });
    expect(run.dag.stages.get('produce')!.outputs).toEqual([{ key: 'a.txt', path: 'a.txt' }]); // relative to results/c/outputs
    // Outputs are removed before their stage runs: one outside the campaign's folder is refused.
    writeFileSync(join(root, 'runs/c.toml'), readFileSync(join(root, 'runs/c.toml'), 'utf8').replace('out = "results/c/outputs/a.txt"', 'out = "package.json"'));
    expect(problemsOf(() => loadRun(root, 'runs/c.toml'))).toMatchObject([{ line: 5, key: 'campaign.produce', message: "workflow produce declares output package.json, which is not inside the campaign's output folder results/c/outputs" }]);
  });

  it.each([
    ['a recursive CTE that never returns', 'EXISTS (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 1 FROM c WHERE x < 0)', 'EXISTS() is not a function a condition may use'],
    ['a sub-query', "obs_id IN (SELECT obs_id FROM obs)", 'SELECT is not a column of the obs table'],
    ['a comment', 'pwv > 1 -- and more', 'it has a comment'],
    ['an unclosed string', "obs_id = 'o01", 'a string is not closed'],
  ])('refuses %s as a query, quickly, naming what is wrong', (_, query, why) => {
    const started = Date.now();
    const root = workspace(`${CAMPAIGN}[campaign.ml-null-tests.mission-tests]\n${MAPPING}query = "${query.replaceAll('"', '\\"')}"\nchunk_nobs = 1\n`);
    expect(problemsOf(() => load(root))).toMatchObject([{ line: 5, message: expect.stringContaining(why) }]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses an obsdb that lacks what a test reads, or holds text where numbers belong', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-null-tests.pwv-tests]\n${MAPPING}chunk_nobs = 1\n`);
    const db = new Database(join(root, 'data/obsdb.sqlite'));
    db.exec("ALTER TABLE obs DROP COLUMN pwv; UPDATE obs SET timestamp = 'yesterday' WHERE obs_id = 'o03'");
    db.close();
    expect(problemsOf(() => load(root))).toMatchObject([{ message: expect.stringMatching(/has no column pwv, which this workflow reads$/) }]);
    const mission = workspace(`${CAMPAIGN}[campaign.ml-null-tests.mission-tests]\n${MAPPING}chunk_nobs = 1\n`);
    const db2 = new Database(join(mission, 'data/obsdb.sqlite'));
    db2.exec("UPDATE obs SET timestamp = 'yesterday' WHERE obs_id = 'o03'");
    db2.close();
    expect(problemsOf(() => load(mission))).toMatchObject([{ message: expect.stringContaining('observation o03 has "yesterday" for timestamp, not a number') }]);
  });

  it('opens the obsdb read-only: a query cannot change it', () => {
    const root = workspace(`${CAMPAIGN}[campaign.ml-mapmaking]\n${MAPPING}query = "1; DROP TABLE obs"\n`);
    expect(() => loadRun(root, 'runs/c.toml')).toThrow(/is not a condition on the obs table: ";" has no place in a condition/);
    const db = new Database(join(root, 'data/obsdb.sqlite'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM obs').get()).toEqual({ n: 12 });
    db.close();
  });
});
