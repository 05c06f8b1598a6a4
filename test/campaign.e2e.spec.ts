import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    expect(plan.stages).toHaveLength(19);
    expect(plan.stages.map((s) => s.name)).toContain('ml-null-tests.direction-tests.middle_split_1');
    expect([plan.site, plan.meetsDeadline]).toEqual(['local', true]);
  });

  it('runs through nx run-many: one map per split, every selected observation in each test once, cached the second time', () => {
    const r = nx(ws, RUN, PATH);
    expect(r.status, r.out).toBe(0);
    expect(executedStages(r.out)).toHaveLength(19);
    const nullMaps = join(ws, 'results/so-nulltests/maps/null');
    const splits = readdirSync(nullMaps).sort();
    expect(splits).toHaveLength(18);
    const all = new Set<string>();
    for (const test of ['mission', 'direction', 'pwv', 'day-night']) {
      const prefixes = { mission: ['mission'], direction: ['rising', 'setting', 'middle'], pwv: ['pwv_low', 'pwv_high'], 'day-night': ['day', 'night'] }[test]!;
      const ids = splits.filter((s) => prefixes.some((p) => s.startsWith(`${p}_split_`))).flatMap((s) => readFileSync(join(nullMaps, s, 'obs_list.txt'), 'utf8').trim().split('\n'));
      expect(new Set(ids).size, test).toBe(300);
      expect(ids, test).toHaveLength(300);
      ids.forEach((i) => all.add(i));
    }
    // The stand-in mapmaker read each list and wrote its map.
    expect(readFile(ws, 'results/so-nulltests/maps/null/mission_split_0/sky_map.fits')).toContain('NOBS    = 80'); // 30 chunks of 10 dealt to 4 splits: 8 to split 0
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
    writeFile(ws, 'runs/custom.toml', '[campaign]\n[campaign.my-sim]\ninput = "file://data/so/area.fits"\noutput_dir = "results/custom/sim"\niterations = 4\n');
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
