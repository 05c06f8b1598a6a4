import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The stand-ins for the LSST stack's butler, pipetask and bps (pipelines/rubin/bin, Python
 * standard library), run as our code runs them: in a temporary folder, first on PATH, the
 * pipeline JSON from a fake `campaign pipeline --json` (NX_CAMPAIGN_CLI) so that they are tested
 * alone, the bps runs numbered in a temporary BPS_STANDIN_HOME.
 */
const repoRoot = resolve(__dirname, '..');
const BIN = join(repoRoot, 'pipelines/rubin/bin');

const PIPELINE = {
  description: 'a test pipeline',
  instrument: 'lsst.obs.decam.DarkEnergyCamera',
  tasks: [
    { label: 'isr', class: 'lsst.ip.isr.IsrTask', config: {}, configFiles: [], python: [] },
    { label: 'calibrateImage', class: 'lsst.pipe.tasks.calibrateImage.CalibrateImageTask', config: { 'connections.photometry_ref_cat': 'the_monster_20240904' }, configFiles: [], python: [] },
    { label: 'checkVisit', class: 'lovoccs_pipe.check_visit.CheckVisitTask', config: { maxFwhm: 1.68 }, configFiles: [], python: [] },
    { label: 'consolidateVisitSummary', class: 'lsst.pipe.tasks.postprocess.ConsolidateVisitSummaryTask', config: {}, configFiles: [], python: [] },
    { label: 'jointcal', class: 'lsst.jointcal.JointcalTask', config: {}, configFiles: [], python: [] },
    { label: 'bogus', class: 'lsst.nowhere.BogusTask', config: {}, configFiles: [], python: [] },
  ],
  subsets: { step1: ['isr', 'calibrateImage'], step2: ['consolidateVisitSummary', 'jointcal'] },
  steps: [],
};
// The fake nx-campaign CLI: `pipeline <file>[#labels or subsets] --json`, a located error otherwise.
const FAKE_CLI = `#!/usr/bin/env python3
import json, os, sys
p = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline.json")))
uri = sys.argv[2]
path, _, expr = uri.partition("#")
if not path.endswith("test.yaml"):
    sys.exit(f"{path}: no such pipeline file\\n  fix: give the path of an LSST pipeline YAML file")
labels = [x for e in expr.split(",") if e for x in p["subsets"].get(e, [e])]
if any(l not in [t["label"] for t in p["tasks"]] for l in labels):
    sys.exit(f"{path}: #{expr}: not a task label or subset")
p["file"] = os.path.abspath(path)
p["tasks"] = [t for t in p["tasks"] if not labels or t["label"] in labels]
print(json.dumps(p))
`;

let dir: string;
let env: NodeJS.ProcessEnv;
const run = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}, cwd = dir): SpawnSyncReturns<string> =>
  spawnSync(join(BIN, cmd), args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 30_000 });
const butler = (...args: string[]) => run('butler', args);
const pipetask = (...args: string[]) => run('pipetask', args);
const bps = (...args: string[]) => run('bps', args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rows of the astropy tables in text (as our TypeScript reads them: columns where the dashes are). */
function tables(text: string): Record<string, string>[][] {
  const lines = text.split('\n');
  const out: Record<string, string>[][] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!/^\s*-+(\s+-+)*\s*$/.test(lines[i]) || !lines[i - 1].trim() || /^\s*-+(\s+-+)*\s*$/.test(lines[i - 1])) continue;
    const spans = [...lines[i].matchAll(/-+/g)].map((m) => [m.index!, m.index! + m[0].length]);
    const cut = (line: string) => spans.map(([from], j) => line.slice(j ? from - 1 : 0, j + 1 < spans.length ? spans[j + 1][0] - 1 : undefined).trim());
    const header = cut(lines[i - 1]);
    const rows: Record<string, string>[] = [];
    for (i++; i < lines.length && lines[i].trim(); i++) if (!/^\s*-+(\s+-+)*\s*$/.test(lines[i])) rows.push(Object.fromEntries(header.map((h, j) => [h, cut(lines[i])[j]])));
    out.push(rows);
  }
  return out;
}

async function waitForRun(id: string, states: string[], ms = 20_000): Promise<Record<string, string>> {
  for (const start = Date.now(); Date.now() - start < ms; await sleep(150)) {
    const row = tables(bps('report', '--id', id).stdout)[0]?.[0];
    if (row && states.includes(row.STATE)) return row;
  }
  throw new Error(`bps run ${id} did not reach ${states.join('/')}: ${bps('report', '--id', id).stdout}`);
}

function submitFile(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, body);
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rubin-standins-'));
  writeFileSync(join(dir, 'campaign.py'), FAKE_CLI, { mode: 0o755 });
  writeFileSync(join(dir, 'pipeline.json'), JSON.stringify(PIPELINE));
  writeFileSync(join(dir, 'test.yaml'), '# read by the fake CLI only\n');
  env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, NX_CAMPAIGN_CLI: join(dir, 'campaign.py'), BPS_STANDIN_HOME: join(dir, 'bps-home'), BPS_STANDIN_CORES: '2', USER: 'tester' };
  // 4 visits (1000..1003) in g, r x 2 detectors; visit 1003's seeing is bad (--seeing-bad 0.25).
  const made = run('make-demo-repo', ['repo', '--bands', 'g,r', '--visits', '4', '--detectors', '2', '--seeing-bad', '0.25', '--refcats', 'the_monster_20240904,sdss_dr9']);
  expect(made.status, made.stderr).toBe(0);
});

afterAll(() => {
  // End the detached bps runners this file started (by their pids), then remove the folder.
  const home = join(dir, 'bps-home', 'bps');
  if (existsSync(join(home, 'runs.sqlite3'))) {
    const pids = spawnSync('python3', ['-c', `import sqlite3;print(" ".join(str(r[0]) for r in sqlite3.connect("${join(home, 'runs.sqlite3')}").execute("SELECT pid FROM runs")))`], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(-Number(pid), 'SIGKILL');
      } catch {
        // already ended
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('butler stand-in', () => {
  it('lists collections as a tree, chains indented, left-aligned as query-collections --chains TREE prints them', () => {
    const r = butler('query-collections', 'repo');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(['      Name        Type ', '--------------- -------', 'DECam/calib     RUN    ', 'DECam/defaults  CHAINED', '  DECam/raw/all RUN    ', '  DECam/calib   RUN    ', '  refcats       RUN    ', 'DECam/raw/all   RUN    ', 'refcats         RUN    ', ''].join('\n'));
    expect(butler('query-collections', 'repo', 'nope').stderr).toMatch(/MissingCollectionError: No collection with name 'nope' found\./);
  });

  it('prints query-data-ids as astropy does (names centred, values right-aligned), sorted, with the implied dimensions, and "No results" when nothing matches', () => {
    const r = butler('query-data-ids', 'repo', 'visit', '--collections', 'DECam/defaults', '--datasets', 'raw', '--where', "band = 'g' AND visit >= 1000");
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('instrument visit band  physical_filter   exposure');
    expect(lines[1]).toBe('---------- ----- ---- ------------------ --------');
    expect(lines[2]).toBe('     DECam  1000    g g DECam SDSS c0001     1000');
    expect(tables(r.stdout)[0].map((row) => row.visit)).toEqual(['1000', '1002']);
    const none = butler('query-data-ids', 'repo', 'visit', '--where', 'visit > 5000');
    expect([none.status, none.stdout]).toEqual([0, 'No results. Try --help for more information.\n']);
    const det = butler('query-data-ids', 'repo', 'detector', '--where', "band = 'r'");
    expect(tables(det.stdout)[0].map((row) => row.detector)).toEqual(['1', '2']);
  });

  it('rejects a bad query, an unknown dimension and an unknown option as the stack does (exit 1, 1 and 2)', () => {
    const syntax = butler('query-data-ids', 'repo', 'visit', '--where', 'visit >');
    expect(syntax.status).toBe(1);
    expect(syntax.stderr).toMatch(/^lsst\.daf\.butler\.cli\.utils ERROR: Caught an exception, details are in traceback:$/m);
    expect(syntax.stderr).toMatch(/ParserEOFError: End of input reached while expecting further input[\s\S]*InvalidQueryError: Failed to parse expression 'visit >'/);
    expect(butler('query-data-ids', 'repo', 'visit', '--where', 'visit = = 3').stderr).toMatch(/Syntax error at or near '=' \(line: 1, pos: 9\)/);
    const dim = butler('query-datasets', 'repo', 'raw', '--collections', 'DECam/defaults', '--where', "filter = 'g'");
    expect([dim.status, dim.stderr.trim().split('\n').pop()]).toEqual([1, "lsst.daf.butler._exceptions.InvalidQueryError: Unrecognized identifier 'filter'."]);
    const opt = butler('query-data-ids', 'repo', 'visit', '--foo');
    expect(opt.status).toBe(2);
    expect(opt.stderr).toMatch(/^Error: No such option: --foo$/m);
  });

  it('ingests files from a CSV table (file, then data ID columns, plus --data-id), lists them with query-datasets, chains and removes runs', () => {
    mkdirSync(join(dir, 'flats'));
    for (const d of [1, 2]) writeFileSync(join(dir, 'flats', `flat${d}.json`), '{}');
    writeFileSync(join(dir, 'flats.csv'), 'file,detector\nflats/flat1.json,1\nflats/flat2.json,2\n');
    expect(butler('register-dataset-type', 'repo', 'flat', 'ExposureF', 'instrument', 'detector').stdout).toBe('Dataset type successfully registered.\n');
    const ing = butler('ingest-files', '-t', 'copy', 'repo', 'flat', 'DECam/flats', 'flats.csv', '--data-id', 'instrument=DECam');
    expect(ing.status, ing.stderr).toBe(0);
    const q = butler('query-datasets', 'repo', 'flat', '--collections', 'DECam/flats');
    expect(q.stdout.startsWith('\ntype     run                      id                  instrument detector\n---- ----------- ------------------------------------ ---------- --------\nflat DECam/flats ')).toBe(true);
    const [rows] = tables(q.stdout);
    expect(rows.map((r) => [r.type, r.run, r.detector])).toEqual([['flat', 'DECam/flats', '1'], ['flat', 'DECam/flats', '2']]);
    expect(existsSync(join(dir, 'repo', 'DECam/flats', 'flat', 'flat_instrument-DECam_detector-1.json'))).toBe(true);
    expect(butler('collection-chain', 'repo', 'DECam/all', 'DECam/flats,DECam/calib').stdout).toBe('[DECam/flats, DECam/calib]\n');
    expect(butler('collection-chain', 'repo', 'DECam/all', 'refcats', '--mode', 'prepend').stdout).toBe('[refcats, DECam/flats, DECam/calib]\n');
    const refused = butler('remove-runs', 'repo', 'DECam/flats', '--no-confirm');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/DECam\/flats: must be unlinked from "DECam\/all"/);
    const removed = butler('remove-runs', 'repo', 'DECam/flats', '--no-confirm', '--force');
    expect(removed.stdout).toBe('The following RUN collections were removed:\nDECam/flats: was removed and unlinked from "DECam/all"\nThe following datasets were removed:\nflat(2)\nTotal number of datasets to remove:  2\n');
    expect(butler('collection-chain', 'repo', 'DECam/all', 'refcats', '--mode', 'remove').stdout).toBe('[DECam/calib]\n');
    const missing = butler('query-datasets', 'repo', 'flat', '--collections', 'DECam/flats');
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringMatching(/MissingCollectionError: No collection with name 'DECam\/flats' found\./)]);
  });

  it('make-demo-repo --no-files makes a 40,000-visit planning registry in seconds, queryable by visit', () => {
    const start = Date.now();
    const made = run('make-demo-repo', ['big', '--instrument', 'LSSTCam-imSim', '--bands', 'u,g,r,i,z,y', '--visits', '40000', '--detectors', '1', '--no-files']);
    expect(made.status, made.stderr).toBe(0);
    expect(Date.now() - start).toBeLessThan(5000);
    expect(existsSync(join(dir, 'big', 'LSSTCam-imSim', 'raw'))).toBe(false);
    const q = butler('query-data-ids', 'big', 'visit', '--collections', 'LSSTCam-imSim/defaults', '--datasets', 'raw', '--where', "instrument = 'LSSTCam-imSim' AND visit >= 40985 AND band = 'y'");
    // Bands in turn from the first visit (1000 is u), so y is every visit 1005 + 6k.
    expect(tables(q.stdout)[0].map((r) => r.visit)).toEqual(['40989', '40995']);
  });
});

describe('pipetask stand-in', () => {
  it('builds and saves a graph, logging the Quanta/Tasks table; runs it with -j 2 into <output>/<timestamp>, chained before the inputs', () => {
    const q = pipetask('--long-log', '--log-level=VERBOSE', 'qgraph', '-b', 'repo', '-p', 'test.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/s1', '-d', "band = 'g'", '--save-qgraph', 's1.qg');
    expect(q.status, q.stderr).toBe(0);
    expect(q.stderr).toMatch(/lsst\.ctrl\.mpexec\.cli\.utils \(\)\(\S+\) - QuantumGraph contains 8 quanta for 2 tasks\nQuanta     Tasks     \n------ --------------\n     4            isr\n     4 calibrateImage/);
    const graph = JSON.parse(readFileSync(join(dir, 's1.qg'), 'utf8'));
    expect(graph.header.outputRun).toMatch(/^u\/t\/s1\/\d{8}T\d{6}Z$/);
    const r = pipetask('run', '-b', 'repo', '-g', 's1.qg', '-i', 'DECam/defaults', '-o', 'u/t/s1', '-j', '2', '--register-dataset-types');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^lsst\.pipe\.base\.single_quantum_executor INFO: Execution of task 'isr' on quantum \{instrument: 'DECam', detector: 1, exposure: 1000, band: 'g', physical_filter: 'g DECam SDSS c0001', visit: 1000\} took \d+\.\d{3} seconds$/m);
    expect(r.stderr).toMatch(/Executed 8 quanta successfully, 0 failed and 0 remain out of total 8 quanta\.\n$/);
    const chain = butler('query-collections', 'repo', 'u/t/s1', '--chains', 'TABLE');
    expect(tables(chain.stdout)[0].map((row) => row.Children)).toEqual([graph.header.outputRun, 'DECam/raw/all', 'DECam/calib', 'refcats']);
    expect(tables(butler('query-datasets', 'repo', 'calexp', '--collections', 'u/t/s1').stdout)[0]).toHaveLength(4);
    const again = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/s1', '--output-run', graph.header.outputRun);
    expect([again.status, again.stderr.trim().split('\n').pop()]).toEqual([1, `ValueError: Output run '${graph.header.outputRun}' already exists, but --extend-run was not given.`]);
  });

  it('fails the graph build on a missing prerequisite (naming type, task and data ID), a missing input collection, an unknown task class, and an empty graph', () => {
    const pre = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/pre', '-d', "band = 'r' AND detector = 1", '-c', 'calibrateImage:connections.photometry_ref_cat=ps1_pv3', '-q', 'pre.qg');
    expect(pre.status).toBe(1);
    expect(pre.stderr).toMatch(/FileNotFoundError: Not enough datasets \(0\) found for non-optional connection calibrateImage\.photometry_ref_cat \(ps1_pv3\) with minimum=1 for quantum data ID \{instrument: 'DECam', detector: 1, visit: 1001, band: 'r', /);
    expect(existsSync(join(dir, 'pre.qg'))).toBe(false);
    const coll = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#step1', '-i', 'DECam/nothing', '-o', 'u/t/x');
    expect([coll.status, coll.stderr]).toEqual([1, expect.stringMatching(/MissingCollectionError: No collection with name 'DECam\/nothing' found\./)]);
    const cls = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#bogus', '-i', 'DECam/defaults', '-o', 'u/t/x');
    expect(cls.stderr).toMatch(/ImportError: cannot import name 'BogusTask' from 'lsst\.nowhere' for task 'bogus': the stand-in pipetask knows these task classes: .*lsst\.ip\.isr\.IsrTask/);
    const empty = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/x', '-d', "band = 'z'");
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/ERROR: Initial data ID query returned no rows, so QuantumGraph will be empty\.[\s\S]*\nError: QuantumGraph was empty; ERROR logs above should provide details\.\n$/);
    const bad = pipetask('qgraph', '-b', 'repo', '-p', 'missing.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/x');
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringMatching(/ValueError: missing\.yaml: no such pipeline file\n {2}fix: give the path/)]);
    const opt = pipetask('qgraph', '-b', 'repo', '--no-such-thing');
    expect([opt.status, opt.stderr]).toEqual([2, expect.stringMatching(/Error: No such option: --no-such-thing/)]);
  });

  it('keeps a per-band quantum that a visit condition cannot decide, with only the inputs it keeps (three-valued data query)', () => {
    const r = pipetask('run', '-b', 'repo', '-p', 'test.yaml#isr,calibrateImage,consolidateVisitSummary,jointcal', '-i', 'DECam/defaults', '-o', 'u/t/band', '-d', 'visit > 1000', '--register-dataset-types', '-q', 'band.qg');
    expect(r.status, r.stderr).toBe(0);
    const graph = JSON.parse(readFileSync(join(dir, 'band.qg'), 'utf8'));
    const jointcal = graph.quanta.filter((q: { task: string }) => q.task === 'jointcal');
    expect(jointcal.map((q: { dataId: { band: string } }) => q.dataId.band).sort()).toEqual(['g', 'r']);
    const g = jointcal.find((q: { dataId: { band: string } }) => q.dataId.band === 'g');
    expect(g.inputs.map((i: { dataId: { visit: number } }) => i.dataId.visit)).toEqual([1002]);
    expect(tables(butler('query-datasets', 'repo', 'jointcalPhotoCalibCatalog', '--collections', 'u/t/band').stdout)[0].map((x) => x.band).sort()).toEqual(['g', 'r']);
  });

  it('applies -C files of literal assignments (LoVoCCS check_visit keeps visits with seeing <= maxFwhm) and refuses any other line', () => {
    writeFileSync(join(dir, 'cv.py'), '# check_visit overrides\nconfig.maxFwhm = 2.0  # keep all but the bad one\n');
    const r = pipetask('run', '-b', 'repo', '-p', 'test.yaml#checkVisit', '-i', 'u/t/s1', '-o', 'u/t/cv', '-C', 'checkVisit:cv.py', '--register-dataset-types');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/visit 1000 kept: seeing 0\.80 <= 2\.0/);
    writeFileSync(join(dir, 'evil.py'), 'import os\nconfig.maxFwhm = 1.0\n');
    const evil = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#checkVisit', '-i', 'u/t/s1', '-o', 'u/t/cv2', '-C', 'checkVisit:evil.py');
    expect([evil.status, evil.stderr]).toEqual([1, expect.stringMatching(/evil\.py:1: 'import os': only `config\.<field> = <literal>` lines are read/)]);
    const tight = pipetask('run', '-b', 'repo', '-p', 'test.yaml#isr,calibrateImage,checkVisit', '-i', 'DECam/defaults', '-o', 'u/t/cv3', '-c', 'checkVisit:maxFwhm=1.1', '--register-dataset-types');
    expect(tight.status, tight.stderr).toBe(0);
    const kept = tables(butler('query-datasets', 'repo', 'visit_quality', '--collections', 'u/t/cv3').stdout)[0].map((x) => x.visit);
    expect(kept).toEqual(['1000', '1001']); // seeing 0.80 and 0.99 kept; 1.18 (1002) and 2.5 (1003) are over 1.1
  });

  it('fails quanta a standinFail query matches, runs nothing downstream of them, exits 1', () => {
    const r = pipetask('run', '-b', 'repo', '-p', 'test.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/fail', '-d', "band = 'r'", '-c', 'isr:standinFail=visit = 1001 AND detector = 2', '--register-dataset-types');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Execution of task 'isr' on quantum \{instrument: 'DECam', detector: 2, exposure: 1001, .*\} failed\. Exception RuntimeError: standinFail/);
    expect(r.stderr).toMatch(/Traceback \(most recent call last\):/);
    expect(r.stderr).toMatch(/Upstream job failed for task \S+ \(calibrateImage@\{instrument: 'DECam', detector: 2, visit: 1001,/);
    expect(r.stderr).toMatch(/Executed 6 quanta successfully, 2 failed and 0 remain out of total 8 quanta\.[\s\S]*MPGraphExecutorError: One or more tasks failed during execution\.\n$/);
    expect(tables(butler('query-datasets', 'repo', 'calexp', '--collections', 'u/t/fail').stdout)[0]).toHaveLength(3);
  });

  it('reads a real pipeline through nx-campaign\'s own `campaign pipeline --json` (no NX_CAMPAIGN_CLI)', () => {
    const r = run('pipetask', ['qgraph', '-b', join(dir, 'repo'), '-p', 'pipelines/rubin/DRP-LoVoCCS.yaml#step1', '-i', 'DECam/defaults', '-o', 'u/t/real', '-d', "band = 'g' AND detector = 1"], { NX_CAMPAIGN_CLI: '' }, repoRoot);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/QuantumGraph contains 4 quanta for 2 tasks/);
  });
});

describe('bps stand-in', () => {
  it('submits a workflow from a submit file (includeConfigs, {key}, ${ENV}, defaults), prints Submit dir / Run Id / Run Name, runs it detached and reports it', async () => {
    writeFileSync(join(dir, 'site.yaml'), 'project: standins\ncampaign: c1\nrequestMemory: 1024\n');
    const file = submitFile('s1', `# a BPS submit file
includeConfigs: [site.yaml]
pipelineYaml: "\${TEST_DIR}/test.yaml#step1"
submitPath: "{here}/submit/{outputRun}"
here: \${TEST_DIR}
payload:
  payloadName: step1_g
  butlerConfig: \${TEST_DIR}/repo
  inCollection: DECam/defaults
  dataQuery: "band = 'g' AND detector = 1"
pipetask:
  calibrateImage: {requestMemory: 512}
`);
    const r = run('bps', ['submit', file], { TEST_DIR: dir });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Submit dir: ${dir}/submit/u/tester/step1_g/\\d{8}T\\d{6}Z$`));
    expect(lines[1]).toMatch(/^Run Id: \d+$/);
    expect(lines[2]).toMatch(/^Run Name: u_tester_step1_g_\d{8}T\d{6}Z$/);
    const id = lines[1].split(': ')[1];
    const row = await waitForRun(id, ['SUCCEEDED', 'FAILED']);
    expect(row).toMatchObject({ STATE: 'SUCCEEDED', '%S': '100', ID: id, OPERATOR: 'tester', PROJECT: 'standins', CAMPAIGN: 'c1', PAYLOAD: 'step1_g' });
    const detail = bps('report', '--id', id).stdout;
    expect(detail).toMatch(/\n\n\nPath: .*\nGlobal job id: .*\n\n\n/);
    const [, counts] = tables(detail);
    expect(counts.map((c) => [c[''], c.SUCCEEDED, c.EXPECTED])).toEqual([['TOTAL', '6', '6'], ['pipetaskInit', '1', '1'], ['isr', '2', '2'], ['calibrateImage', '2', '2'], ['finalJob', '1', '1']]);
    const submitDir = lines[0].slice('Submit dir: '.length);
    expect(readFileSync(join(submitDir, 'quantumGraphGeneration.out'), 'utf8')).toMatch(new RegExp(`pipetask --long-log --log-level=VERBOSE qgraph --butler-config ${dir}/repo -i DECam/defaults -o u/tester/step1_g --output-run u/tester/step1_g/\\d{8}T\\d{6}Z`));
    expect(readdirSync(join(submitDir, 'jobs', 'isr'))).toEqual(['isr_g_1000_1000_1.log', 'isr_g_1002_1002_1.log']);
    expect(readFileSync(join(submitDir, 'jobs', 'calibrateImage', 'calibrateImage_g_1000_1000_1.log'), 'utf8')).toMatch(/requestMemory 512 MB/);
    expect(tables(butler('query-datasets', 'repo', 'calexp', '--collections', 'u/tester/step1_g').stdout)[0]).toHaveLength(2);
    // bps report lists the runs still active (none now); --hist shows those ended since.
    expect(bps('report').stdout).toBe('');
    expect(tables(bps('report', '--hist', '1').stdout)[0].map((x) => x.ID)).toContain(id);
    expect(bps('status', '--id', id).status).toBe(0);
    expect(bps('status', '--id', '99999').status).toBe(10);
  });

  it('fails at graph build before anything runs, with pipetask\'s message and exit code', () => {
    const file = submitFile('bad', 'pipelineYaml: test.yaml#step1\npayload:\n  payloadName: bad\n  butlerConfig: repo\n  inCollection: DECam/defaults\n  dataQuery: "band = \'g\'"\nextraQgraphOptions: "-c calibrateImage:connections.photometry_ref_cat=ps1_pv3"\n');
    const before = bps('report', '--hist', '30').stdout;
    const r = bps('submit', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^Submit dir: .*\nGenerating quantum graph failed with non-zero exit code \(1\)\nCheck .*quantumGraphGeneration\.out for more details\.\n$/);
    expect(r.stderr).toMatch(/Not enough datasets \(0\) found for non-optional connection calibrateImage\.photometry_ref_cat \(ps1_pv3\)/);
    expect(r.stdout).not.toMatch(/Run Id/);
    expect(bps('report', '--hist', '30').stdout).toBe(before);
  });

  it('retries a failing job numberOfRetries times unless its exit code is in retryUnlessExit, prunes what depends on it, and restarts the run without the jobs that succeeded', async () => {
    const file = submitFile('retry', 'pipelineYaml: test.yaml#step1\nnumberOfRetries: 1\nretryUnlessExit: []\npayload:\n  payloadName: retry\n  butlerConfig: ' + join(dir, 'repo') + '\n  inCollection: DECam/defaults\n  dataQuery: "band = \'r\'"\nextraQgraphOptions: "-c \'isr:standinFail=detector = 2\'"\n');
    const r = bps('submit', file);
    expect(r.status, r.stderr).toBe(0);
    const id = /Run Id: (\d+)/.exec(r.stdout)![1];
    const row = await waitForRun(id, ['SUCCEEDED', 'FAILED']);
    expect(row.STATE).toBe('FAILED');
    const [, counts] = tables(bps('report', '--id', id).stdout);
    expect(counts.find((c) => c[''] === 'isr')).toMatchObject({ SUCCEEDED: '2', FAILED: '2' });
    expect(counts.find((c) => c[''] === 'calibrateImage')).toMatchObject({ SUCCEEDED: '2', PRUNED: '2' });
    const submitDir = /Submit dir: (.*)/.exec(r.stdout)![1];
    const log = readFileSync(join(submitDir, 'jobs', 'isr', 'isr_r_1001_1001_2.log'), 'utf8');
    expect(log.match(/^### .* attempt \d/gm)).toHaveLength(2);
    expect(bps('status', '--id', id).status).toBe(19);
    const codes = tables(bps('report', '--id', id, '--return-exit-codes').stdout)[2];
    expect(codes.find((c) => c[''] === 'isr')).toMatchObject({ 'PAYLOAD ERROR COUNT': '2', 'PAYLOAD ERROR CODES': '1' });
    const again = bps('restart', '--id', id);
    expect(again.stdout).toMatch(/^Run Id: \d+\nRun Name: /);
    const newId = /Run Id: (\d+)/.exec(again.stdout)![1];
    expect(newId).not.toBe(id);
    expect((await waitForRun(newId, ['SUCCEEDED', 'FAILED'])).STATE).toBe('FAILED');
    expect(readFileSync(join(submitDir, 'jobs', 'isr', 'isr_r_1001_1001_1.log'), 'utf8').match(/^### .* attempt \d/gm)).toHaveLength(1);
    expect(readFileSync(join(submitDir, 'jobs', 'isr', 'isr_r_1001_1001_2.log'), 'utf8').match(/^### .* attempt \d/gm)).toHaveLength(4);
    expect(bps('restart', '--id', 'none').stdout).toMatch(/^Restart failed: /);
  });

  it('cancels a running workflow: its runner and jobs end, the run is DELETED; a finished one is not found', async () => {
    const file = submitFile('slow', 'pipelineYaml: test.yaml#isr\npayload:\n  payloadName: slow\n  butlerConfig: ' + join(dir, 'repo') + '\n  inCollection: DECam/defaults\n  dataQuery: "visit = 1000"\nextraQgraphOptions: "-c isr:standinSeconds=30"\n');
    const r = bps('submit', file);
    const id = /Run Id: (\d+)/.exec(r.stdout)![1];
    for (let t = Date.now(); !/RUNNING +[1-9]/.test(bps('report', '--id', id).stdout.split('TOTAL')[1] ?? '') && Date.now() - t < 10_000; ) await sleep(100);
    expect(tables(bps('report').stdout)[0].map((x) => [x.ID, x.STATE])).toContainEqual([id, 'RUNNING']);
    const c = bps('cancel', '--id', id);
    expect(c.stdout).toBe(`Successfully canceled job with id '${id}'\n`);
    expect(tables(bps('report', '--id', id).stdout)[0][0].STATE).toBe('DELETED');
    expect(bps('status', '--id', id).status).toBe(16);
    expect(bps('cancel', '--id', id).stdout).toMatch(/^No job matches the search criteria\./);
    const ps = spawnSync('pgrep', ['-f', `_run-workflow ${id}$`], { encoding: 'utf8' });
    expect(ps.stdout.trim()).toBe('');
  });

  it('kills a job over its requestMemory and retries it with memoryMultiplier times more; without a multiplier it is HELD', async () => {
    const body = (name: string, multiplier: number) => `pipelineYaml: test.yaml#isr\nrequestMemory: 60\nmemoryMultiplier: ${multiplier}\npayload:\n  payloadName: ${name}\n  butlerConfig: ${join(dir, 'repo')}\n  inCollection: DECam/defaults\n  dataQuery: "visit = 1000 AND detector = 1"\nextraQgraphOptions: "-c isr:standinMemoryMB=150 -c isr:standinSeconds=1"\n`;
    const grow = bps('submit', submitFile('grow', body('grow', 4)));
    const held = bps('submit', submitFile('held', body('held', 1)));
    const [growId, heldId] = [grow, held].map((x) => /Run Id: (\d+)/.exec(x.stdout)![1]);
    expect((await waitForRun(growId, ['SUCCEEDED', 'FAILED'])).STATE).toBe('SUCCEEDED');
    const dirOf = (x: SpawnSyncReturns<string>) => /Submit dir: (.*)/.exec(x.stdout)![1];
    const log = readFileSync(join(dirOf(grow), 'jobs', 'isr', 'isr_g_1000_1000_1.log'), 'utf8');
    expect(log).toMatch(/job killed: its memory exceeded requestMemory 60 MB[\s\S]*attempt 2, requestCpus 1, requestMemory 240 MB/);
    for (let t = Date.now(); tables(bps('report', '--id', heldId).stdout)[0]?.[0].X !== 'H' && Date.now() - t < 15_000; ) await sleep(150);
    expect(tables(bps('report', '--id', heldId).stdout)[0][0]).toMatchObject({ X: 'H', STATE: 'RUNNING' });
    expect(bps('cancel', '--id', heldId).status).toBe(0);
  });

  it('submits a saved graph (qgraphFile), moved to the submit file\'s output run, and refuses YAML it does not read, naming the line', async () => {
    const q = pipetask('qgraph', '-b', 'repo', '-p', 'test.yaml#isr', '-i', 'DECam/defaults', '-o', 'u/t/pre', '-d', "visit = 1001", '-q', 'pre.qg');
    expect(q.status, q.stderr).toBe(0);
    const r = bps('submit', submitFile('qg', `qgraphFile: ${join(dir, 'pre.qg')}\npayload:\n  payloadName: fromgraph\n  butlerConfig: ${join(dir, 'repo')}\n  inCollection: DECam/defaults\n  output: u/t/fromgraph\n`));
    expect(r.status, r.stderr).toBe(0);
    const id = /Run Id: (\d+)/.exec(r.stdout)![1];
    expect((await waitForRun(id, ['SUCCEEDED', 'FAILED'])).STATE).toBe('SUCCEEDED');
    // update-graph-run moves the outputs to the new run only: the graph's output chain is still the
    // one it was built with (u/t/pre), and aggregate-graph puts the run first in that chain.
    const [rows] = tables(butler('query-datasets', 'repo', 'postISRCCD', '--collections', 'u/t/fromgraph/*').stdout);
    expect(rows.map((x) => [x.run, x.detector])).toEqual([[expect.stringMatching(/^u\/t\/fromgraph\/\d{8}T\d{6}Z$/), '1'], [rows[0].run, '2']]);
    expect(tables(butler('query-collections', 'repo', 'u/t/pre', '--chains', 'TABLE').stdout)[0].map((x) => x.Children)).toEqual([rows[0].run, 'DECam/raw/all', 'DECam/calib', 'refcats']);
    expect(butler('query-collections', 'repo', 'u/t/fromgraph').stderr).toMatch(/MissingCollectionError: No collection with name 'u\/t\/fromgraph' found\./);
    const bad = bps('submit', submitFile('anchor', 'pipelineYaml: test.yaml\npayload: &p\n  payloadName: x\n'));
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringMatching(/anchor\.yaml:2: '&' here starts a YAML construct this reader does not support/)]);
  });
});
