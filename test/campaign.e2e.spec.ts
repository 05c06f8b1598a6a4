import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, copyWorkspace, executedStages, nx, readFile, removeWorkspace, repoRoot, writeFile } from './workspace';

/** The socm TOML campaign runs/so-nulltests.toml, through real nx, with the stand-ins on PATH. */
const PATH = { PATH: `${join(repoRoot, 'pipelines/so/bin')}:${process.env.PATH}` };
const RUN = ['run-many', '-t', 'stage', '--projects=tag:run:so-nulltests', '--outputStyle=static'];

describe.sequential('socm TOML campaign', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeWorkspace(ws));

  it('plans one entry per stage instance against its deadline', () => {
    const r = campaign(ws, ['plan', 'runs/so-nulltests.toml', '--json']);
    expect(r.status, r.out).toBe(0);
    const plan = JSON.parse(r.stdout) as { stages: { name: string }[]; meetsDeadline: boolean; site: string };
    expect(plan.stages).toHaveLength(25);
    expect(plan.stages.map((s) => s.name)).toContain('ml-null-tests.direction-tests.direction_middle_split_1');
    expect([plan.site, plan.meetsDeadline]).toEqual(['local', true]);
  });

  it('runs through nx run-many: one map per split in socm\'s folders, every selected observation in each test once, cached the second time', () => {
    const r = nx(ws, RUN, PATH);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toHaveLength(25);
    const nullMaps = join(ws, 'results/so-nulltests/maps/null');
    const splits = readdirSync(nullMaps).sort();
    expect(splits).toHaveLength(24);
    const listed = (prefixes: string[]) => splits.filter((s) => prefixes.some((p) => s.startsWith(`${p}_split_`))).flatMap((s) => readFileSync(join(nullMaps, s, 'query.txt'), 'utf8').trim().split('\n'));
    for (const [test, prefixes] of Object.entries({ mission: ['mission'], direction: ['direction_rising', 'direction_setting', 'direction_middle'], pwv: ['pwv_low', 'pwv_high'], 'day-night': ['day', 'night'] })) {
      const ids = listed(prefixes);
      expect(new Set(ids).size, test).toBe(300);
      expect(ids, test).toHaveLength(300);
    }
    // wafer: tube i1's 150 observations, each once per wafer it has.
    const db = new Database(join(ws, 'data/so/obsdb.sqlite'), { readonly: true });
    const i1 = db.prepare("SELECT obs_id, wafer_slots_list FROM obs WHERE tube_slot = 'i1'").all() as { obs_id: string; wafer_slots_list: string }[];
    db.close();
    for (const w of ['ws0', 'ws1', 'ws2']) expect(listed([`wafer_${w}`]).sort(), w).toEqual(i1.filter((o) => o.wafer_slots_list.split(',').includes(w)).map((o) => o.obs_id).sort());
    // The stand-in mapmaker read each list and wrote its map; --wafer reached it.
    expect(readFile(ws, 'results/so-nulltests/maps/null/mission_split_1/sky_map.fits')).toContain('NOBS    = 80'); // 30 chunks of 10 dealt to 4 splits: 8 to split 1
    expect(r.out).toMatch(/\[ml-null-tests\.wafer-tests\.wafer_ws1_split_1\] make-ml-map: \d+ observations.* wafers=ws1/);
    expect(readFile(ws, 'results/so-nulltests/maps/full/sky_map.fits')).toMatch(/NOBS {4}= \d+/);
    const again = nx(ws, RUN, PATH);
    expect(again.status).toBe(0);
    expect(executedStages(again.out)).toEqual([]);
  }, 180_000);

  it('an edited split knob re-runs only that test\'s stages', () => {
    writeFile(ws, 'runs/so-nulltests.toml', readFile(ws, 'runs/so-nulltests.toml').replace('pwv_limit = 1.5', 'pwv_limit = 2.5'));
    const r = nx(ws, RUN, PATH);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out).every((s) => s.startsWith('so-nulltests.ml-null-tests.pwv-tests.'))).toBe(true);
    expect(executedStages(r.out).length).toBeGreaterThan(0);
  }, 180_000);

  it('a workflow type generated with nx g is used by name from a campaign file and runs', () => {
    const g = nx(ws, ['g', 'nx-campaign:workflow', 'my-sim', '--command=echo', '--no-interactive']);
    expect(g.status, g.out).toBe(0);
    expect(g.out).toContain('CREATE workflows/my-sim.ts');
    writeFile(ws, 'runs/custom.toml', '[campaign]\nresource = "local"\n[campaign.my-sim]\ninput = "file://data/so/area.fits"\noutput_dir = "results/custom/sim"\niterations = 4\n');
    const r = nx(ws, ['run-many', '-t', 'stage', '--projects=tag:run:custom', '--outputStyle=static']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`[my-sim] ${join(ws, 'data/so/area.fits')} --iterations=4 --out=${join(ws, 'results/custom/sim')}`);
  }, 120_000);

  it('a bad campaign file is a located error, not a stack trace', () => {
    writeFile(ws, 'runs/bad.toml', '[campaign]\ndeadline = "1d"\n[campaign.ml-mapmakng]\ncontext = "x"\n');
    const r = campaign(ws, ['plan', 'runs/bad.toml']);
    expect(r.status).toBe(1);
    expect(r.out).toContain('runs/bad.toml:3 (campaign.ml-mapmakng): unknown workflow type "ml-mapmakng"');
    expect(r.out).not.toMatch(/\n\s+at /);
  });
});
