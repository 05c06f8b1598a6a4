import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
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

const argvOf = (root: string, stage: string) => loadRun(root, 'runs/c.toml').dag.stages.get(stage)!.argv as string[];

const MAPPING = `context = "file://data/context.yaml"
area = "file://data/area.fits"
output_dir = "out/maps"
`;

describe('socm TOML campaigns', () => {
  it('ml-mapmaking: positional query, area, output dir, then --context and the set options sorted, lists comma-joined', () => {
    const root = workspace(`[campaign]\n[campaign.ml-mapmaking]\n${MAPPING}query = "el_center > 50"\nmaxiter = "200,200"\ndownsample = [4, 2]\ncomps = "TQU"\nbands = "f090"\ntiled = 1\n`);
    expect(argvOf(root, 'ml-mapmaking')).toEqual([
      'so-site-pipeline', 'make-ml-map', 'el_center > 50', join(root, 'data/area.fits'), join(root, 'out/maps'), `--context=${join(root, 'data/context.yaml')}`,
      '--bands=f090', '--comps=TQU', '--downsample=4,2', '--maxiter=200,200', '--tiled=1',
    ]);
  });

  it('sat-sims: booleans as --X.enable / --X.disable, --out last', () => {
    const root = workspace(`[campaign]\n[campaign.sat-sims]\noutput_dir = "out/sims"\nschedule = "file://data/schedule.txt"\nbands = "SAT_f090"\nwafer_slots = "w25"\nsample_rate = 37\nsim_noise = false\nscan_map = true\n`);
    expect(argvOf(root, 'sat-sims')).toEqual(['toast_so_sim', '--schedule', join(root, 'data/schedule.txt'), '--bands', 'SAT_f090', '--wafer_slots', 'w25', '--sample_rate', '37', '--sim_noise.disable', '--scan_map.enable', '--out', join(root, 'out/sims')]);
  });

  it('power-spectra: python -u <script> <args> --<flag> ... --k=v', () => {
    const root = workspace(`[campaign]\n[campaign.power-spectra]\nsubcommand = "data/ps/spectra.py"\nscript_args = ["file://data/ps/params.dict"]\nscript_flags = ["simulate-syst", "simulate-lens"]\nscript_kwargs = {stop = 10, start = 0}\n`);
    expect(argvOf(root, 'power-spectra')).toEqual(['python', '-u', join(root, 'data/ps/spectra.py'), join(root, 'data/ps/params.dict'), '--simulate-syst', '--simulate-lens', '--start=0', '--stop=10']);
  });

  it('ml-null-tests: shared keys reach every test, a test\'s own key wins, and no test knob reaches the mapmaker', () => {
    const root = workspace(`[campaign]
[campaign.ml-null-tests]
${MAPPING}maxiter = "20"
chunk_nobs = 2
[campaign.ml-null-tests.resources]
memory = "2G"
[campaign.ml-null-tests.mission-tests]
nsplits = 3
maxiter = "50"
[campaign.ml-null-tests.pwv-tests]
pwv_limit = 2.0
[campaign.ml-null-tests.pwv-tests.resources]
threads = 4
`);
    const run = loadRun(root, 'runs/c.toml');
    expect(run.stages).toEqual([
      'ml-null-tests.mission-tests.mission_split_0', 'ml-null-tests.mission-tests.mission_split_1', 'ml-null-tests.mission-tests.mission_split_2',
      'ml-null-tests.pwv-tests.pwv_low_split_0', 'ml-null-tests.pwv-tests.pwv_low_split_1', 'ml-null-tests.pwv-tests.pwv_high_split_0', 'ml-null-tests.pwv-tests.pwv_high_split_1',
    ]);
    const mission = run.dag.stages.get('ml-null-tests.mission-tests.mission_split_0')!;
    const pwv = run.dag.stages.get('ml-null-tests.pwv-tests.pwv_low_split_0')!;
    const list = join(root, 'out/maps/mission_split_0/obs_list.txt');
    expect(mission.argv).toEqual(['so-site-pipeline', 'make-ml-map', list, join(root, 'data/area.fits'), join(root, 'out/maps/mission_split_0'), `--context=${join(root, 'data/context.yaml')}`, '--maxiter=50']);
    expect(pwv.argv).toContain('--maxiter=20');
    for (const a of [...mission.argv, ...pwv.argv] as string[]) expect(a).not.toMatch(/chunk_nobs|nsplits|pwv_limit/);
    // 12 observations in chunks of 2 -> 6 chunks dealt to 3 splits: 0 and 3 -> split 0.
    expect(mission.files).toEqual({ [list]: 'o00\no01\no06\no07\n' });
    expect([mission.resources.memoryMB, mission.resources.threads, pwv.resources.memoryMB, pwv.resources.threads]).toEqual([2000, 1, 2000, 4]);
  });

  it('reads a file:// query as a list of obs ids', () => {
    const root = workspace(`[campaign]\n[campaign.ml-null-tests.wafer-tests]\n${MAPPING}query = "file://data/ids.txt"\nchunk_nobs = 1\nnsplits = 1\n`);
    writeFileSync(join(root, 'data/ids.txt'), 'o00\no04\n');
    expect(loadRun(root, 'runs/c.toml').stages).toEqual(['ml-null-tests.wafer-tests.ws0_split_0', 'ml-null-tests.wafer-tests.ws1_split_0']);
  });

  it('errors name the file, the line, the key and the fix', () => {
    const syntax = problemsOf(() => loadRun(workspace('[campaign]\ndeadline = 2d\n'), 'runs/c.toml'));
    expect(syntax).toMatchObject([{ file: 'runs/c.toml', line: 2, message: expect.stringMatching(/^not valid TOML/) }]);

    const unknown = problemsOf(() => loadRun(workspace(`[campaign]\ndeadline = "1d"\n\n[campaign.ml-mapmakng]\n${MAPPING}`), 'runs/c.toml'));
    expect(unknown).toMatchObject([{ line: 4, key: 'campaign.ml-mapmakng', message: 'unknown workflow type "ml-mapmakng"', fix: expect.stringContaining('ml-mapmaking, sat-sims, power-spectra, ml-null-tests.mission-tests') }]);

    const test = problemsOf(() => loadRun(workspace(`[campaign]\n[campaign.ml-null-tests.lunar-tests]\nchunk_nobs = 1\n`), 'runs/c.toml'));
    expect(test).toMatchObject([{ line: 2, message: 'unknown null test "lunar-tests"', fix: expect.stringContaining('mission-tests, wafer-tests, direction-tests') }]);

    const policy = problemsOf(() => loadRun(workspace(`[campaign]\npolicy = "cost"\n[campaign.ml-mapmaking]\n${MAPPING}`), 'runs/c.toml'));
    expect(policy).toMatchObject([{ line: 2, key: 'campaign.policy', message: expect.stringMatching(/policy "time" is the only one/i) }]);

    const memory = problemsOf(() => loadRun(workspace(`[campaign]\n[campaign.ml-mapmaking]\n${MAPPING}[campaign.ml-mapmaking.resources]\nmemory = "80000"\n`), 'runs/c.toml'));
    expect(memory).toMatchObject([{ line: 7, key: 'campaign.ml-mapmaking.resources.memory', message: expect.stringContaining('has no unit') }]);

    const option = problemsOf(() => loadRun(workspace(`[campaign]\n[campaign.ml-mapmaking]\n${MAPPING}maxiterr = 10\n`), 'runs/c.toml'));
    expect(option).toMatchObject([{ line: 6, key: 'campaign.ml-mapmaking.maxiterr' }]);

    const query = problemsOf(() => loadRun(workspace(`[campaign]\n[campaign.ml-mapmaking]\n${MAPPING}query = "elevation > 50"\n`), 'runs/c.toml'));
    expect(query).toMatchObject([{ line: 2, key: 'campaign.ml-mapmaking', message: expect.stringContaining('query "elevation > 50" fails on') }]);
  });

  it('a custom type declares default resources, and files that order its stages after those writing them', () => {
    const root = workspace(`[campaign]\n[campaign.produce]\nout = "results/c/a.txt"\n[campaign.produce.resources]\nthreads = 2\n[campaign.consume]\nin = "results/c/a.txt"\n`);
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
    expect(run.dag.stages.get('produce')!.resources).toMatchObject({ threads: 2, memoryMB: 3000 });
    expect(run.dag.stages.get('produce')!.outputs).toEqual([{ key: '../a.txt', path: '../a.txt' }]); // relative to results/c/outputs
  });

  it('opens the obsdb read-only: a query cannot change it', () => {
    const root = workspace(`[campaign]\n[campaign.ml-mapmaking]\n${MAPPING}query = "1; DROP TABLE obs"\n`);
    expect(() => loadRun(root, 'runs/c.toml')).toThrow(/fails on/);
    const db = new Database(join(root, 'data/obsdb.sqlite'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM obs').get()).toEqual({ n: 12 });
    db.close();
  });
});
