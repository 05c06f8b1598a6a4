import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, problemsOf } from '../testing/fixture';
import { builtinSites } from './builtins';
import { compressHostlist } from './hostlist';
import { loadSites, siteNamed } from './load';
import { capSite, chooseQos, UNLIMITED, type Site } from './site';


const byName = (sites: Site[], name: string) => sites.find((s) => s.name === name)!;

describe('built-in sites', () => {
  it("are socm's: tiger3, perlmutter, universe with their QoS limits, plus this machine", () => {
    const sites = builtinSites();
    expect(sites.map((s) => s.name)).toEqual(['tiger3', 'perlmutter', 'universe', 'local']);
    const tiger3 = byName(sites, 'tiger3');
    expect(tiger3.nodeClasses).toEqual([{ name: 'tiger3', count: 492, coresPerNode: 112, memoryMBPerNode: 1_000_000, speed: 1 }]);
    expect(tiger3.qos.map((q) => [q.name, q.maxWalltimeSeconds / 60, q.maxJobs, q.maxCores])).toEqual([
      ['test', 60, 1, 8000], ['vshort', 300, 2000, 55104], ['short', 1440, 50, 8000], ['medium', 4320, 80, 4000], ['long', 8640, 16, 1000], ['vlong', 21600, 8, 900],
    ]);
    const perlmutter = byName(sites, 'perlmutter');
    expect(perlmutter.nodeClasses[0]).toMatchObject({ count: 3072, coresPerNode: 128, memoryMBPerNode: 512_000 });
    expect(perlmutter.qos.map((q) => [q.name, q.maxWalltimeSeconds / 60, q.maxJobs, q.maxCores])).toEqual([
      ['regular', 2880, 5000, 393216], ['interactive', 240, 2, 512], ['shared_interactive', 240, 2, 64], ['debug', 30, 5, 1024],
    ]);
    expect(byName(sites, 'universe').nodeClasses[0]).toMatchObject({ count: 28, coresPerNode: 224 });
    expect(byName(sites, 'universe').qos).toEqual([{ name: 'main', maxWalltimeSeconds: 43200 * 60, maxJobs: 5000, maxCores: 6272 }]);
    const local = byName(sites, 'local');
    expect(local.backend).toBe('local');
    expect(local.nodeClasses[0].count).toBe(1);
    expect(local.nodeClasses[0].coresPerNode).toBeGreaterThan(0);
    expect(local.qos).toEqual([{ name: 'local', maxWalltimeSeconds: UNLIMITED, maxJobs: UNLIMITED, maxCores: UNLIMITED }]);
  });
});

describe('sites.yaml', () => {
  let ws: string | undefined;
  afterEach(() => ws && rmSync(ws, { recursive: true, force: true }));

  it('is optional: the built-ins alone', () => {
    ws = fixture({});
    expect(loadSites(ws).map((s) => s.name)).toEqual(['tiger3', 'perlmutter', 'universe', 'local']);
  });

  it('adds sites with node classes (units, speed) and QoS, and overrides only the keys it gives of a built-in', () => {
    ws = fixture({
      'sites.yaml': `sites:
  della:
    partition: cpu
    account: astro
    node_classes:
      - {name: della, count: 200, cores: 32, memory: 190G}
      - {name: della-fast, count: 10, cores: 64, memory: 1TiB, speed: 1.5}
    qos:
      short: {walltime: 1-00:00:00, max_jobs: 300, max_cores: 3200}
      long: {walltime: 6d}
  tiger3:
    account: simonsobs
  mini:
    backend: local
    node_classes: [{name: mini, count: 1, cores: 4, memory: 8G}]
`,
    });
    const sites = loadSites(ws);
    expect(sites.map((s) => s.name)).toEqual(['tiger3', 'perlmutter', 'universe', 'local', 'della', 'mini']);
    const della = byName(sites, 'della');
    expect(della).toMatchObject({ backend: 'slurm', partition: 'cpu', account: 'astro' });
    expect(della.nodeClasses).toEqual([
      { name: 'della', count: 200, coresPerNode: 32, memoryMBPerNode: 190_000, speed: 1 },
      { name: 'della-fast', count: 10, coresPerNode: 64, memoryMBPerNode: 1_099_512, speed: 1.5 },
    ]);
    expect(della.qos).toEqual([
      { name: 'short', maxWalltimeSeconds: 86400, maxJobs: 300, maxCores: 3200 },
      { name: 'long', maxWalltimeSeconds: 6 * 86400, maxJobs: UNLIMITED, maxCores: UNLIMITED },
    ]);
    const tiger3 = byName(sites, 'tiger3');
    expect(tiger3.account).toBe('simonsobs');
    expect(tiger3.nodeClasses[0].count).toBe(492);
    expect(tiger3.qos).toHaveLength(6);
    expect(byName(sites, 'mini')).toMatchObject({ backend: 'local', qos: [{ name: 'normal' }] });
  });

  it('reports every mistake at its line, with a fix', () => {
    ws = fixture({
      'sites.yaml': `sites:
  della:
    node_classes:
      - {name: della, count: 200, cores: 32, memory: 190}
    qos:
      short: {walltime: 90, max_jobs: 300}
  tiger3:
    acount: astro
`,
    });
    const problems = problemsOf(() => loadSites(ws!));
    expect(problems.map((p) => [p.file, p.line, p.key])).toEqual([
      ['sites.yaml', 4, 'sites.della.node_classes[0].memory'],
      ['sites.yaml', 6, 'sites.della.qos.short.walltime'],
      ['sites.yaml', 8, 'sites.tiger3.acount'],
    ]);
    expect(problems[0].message).toMatch(/memory "190" has no unit/i);
    expect(problems[1].message).toMatch(/runtime "90" has no unit/i);
    expect(problems[2].fix).toMatch(/remove or rename "acount"/);
  });

  it('refuses a partition or account that would break its #SBATCH line', () => {
    ws = fixture({ 'sites.yaml': 'sites:\n  tiger3:\n    partition: "cpu\\n#SBATCH --wrap=touch pwned"\n    account: "a b"\n' });
    expect(problemsOf(() => loadSites(ws!)).map((p) => [p.line, p.key, p.message])).toEqual([
      [3, 'sites.tiger3.partition', expect.stringContaining('A SLURM partition')],
      [4, 'sites.tiger3.account', expect.stringContaining('A SLURM name')],
    ]);
    ws = fixture({ 'sites.yaml': 'sites:\n  tiger3:\n    partition: "cpu,"\n' });
    expect(problemsOf(() => loadSites(ws!)).map((p) => p.key)).toEqual(['sites.tiger3.partition']);
  });

  it('takes several partitions, comma-separated, as sbatch does', () => {
    ws = fixture({ 'sites.yaml': 'sites:\n  tiger3:\n    partition: cpu,cpu-spare\n    node_classes: [{name: n, count: 1, cores: 4, memory: 8G}]\n' });
    expect(byName(loadSites(ws), 'tiger3').partition).toBe('cpu,cpu-spare');
  });

  it('needs node classes for a site that is not built in, and distinct class names', () => {
    ws = fixture({
      'sites.yaml': `sites:
  della:
    account: astro
  big:
    node_classes:
      - {name: a, count: 1, cores: 2, memory: 1G}
      - {name: a, count: 1, cores: 2, memory: 1G}
`,
    });
    const problems = problemsOf(() => loadSites(ws!));
    expect(problems.map((p) => [p.line, p.key])).toEqual([[2, 'sites.della'], [7, 'sites.big.node_classes[1].name']]);
    expect(problems[0].message).toMatch(/not built in and has no node_classes/);
  });

  it('refuses YAML it cannot parse, at the line', () => {
    ws = fixture({ 'sites.yaml': 'sites:\n  della: {node_classes: [\n' });
    const [p] = problemsOf(() => loadSites(ws!));
    expect(p.file).toBe('sites.yaml');
    expect(p.message).toMatch(/invalid YAML/);
    expect(p.line).toBeGreaterThan(0);
  });
});

describe('siteNamed', () => {
  it('finds a site, or fails where the name was written, listing the known sites', () => {
    const sites = builtinSites();
    expect(siteNamed(sites, 'perlmutter', { file: 'runs/r.yaml' }).name).toBe('perlmutter');
    const [p] = problemsOf(() => siteNamed(sites, 'tigre3', { file: 'runs/r.yaml', line: 3, key: 'site' }));
    expect(p).toMatchObject({ file: 'runs/r.yaml', line: 3, key: 'site', message: 'unknown site "tigre3"' });
    expect(p.fix).toMatch(/tiger3, perlmutter, universe, local.*sites\.yaml/);
  });
});

describe('chooseQos', () => {
  const tiger3 = byName(builtinSites(), 'tiger3');
  it('takes the QoS with the smallest limits that admits the walltime and the cores', () => {
    expect(chooseQos(tiger3, 15 * 60, 4)?.name).toBe('test');
    expect(chooseQos(tiger3, 60 * 60, 8000)?.name).toBe('test');
    expect(chooseQos(tiger3, 61 * 60, 4)?.name).toBe('vshort');
    expect(chooseQos(tiger3, 30 * 60, 9000)?.name).toBe('vshort');
    expect(chooseQos(tiger3, 10 * 3600, 100)?.name).toBe('short');
    expect(chooseQos(tiger3, 2 * 86400, 100)?.name).toBe('medium');
    expect(chooseQos(tiger3, 5 * 86400, 1000)?.name).toBe('long');
    expect(chooseQos(tiger3, 5 * 86400, 1001)).toBeUndefined();
    expect(chooseQos(tiger3, 10 * 86400, 900)?.name).toBe('vlong');
    expect(chooseQos(tiger3, 16 * 86400, 1)).toBeUndefined();
  });
  it('ignores a limit that is not set', () => {
    const local = byName(builtinSites(), 'local');
    expect(chooseQos(local, 1e9, 1e6)?.name).toBe('local');
  });
});

describe('capSite', () => {
  const tiger3 = byName(builtinSites(), 'tiger3');
  it("makes ceil(cores / cores per node) nodes of the site's first class", () => {
    expect(capSite(tiger3, { cores: 3359 }).site.nodeClasses).toEqual([{ ...tiger3.nodeClasses[0], count: 30 }]);
    expect(capSite(tiger3, { cores: 112 }).site.nodeClasses[0].count).toBe(1);
    expect(capSite(tiger3, { cores: 113 }).site.nodeClasses[0].count).toBe(2);
    expect(capSite(tiger3, { nodes: 4 }).site.nodeClasses[0].count).toBe(4);
  });
  it('keeps the whole site without a cap, and clamps a cap larger than the site', () => {
    expect(capSite(tiger3, {}).site).toBe(tiger3);
    const c = capSite(tiger3, { nodes: 1000 });
    expect(c.site.nodeClasses[0].count).toBe(492);
    expect(c.clampedFrom).toBe(1000);
  });
});

describe('compressHostlist', () => {
  it("writes node ids in SLURM's hostlist notation", () => {
    expect(compressHostlist(['tiger3-000', 'tiger3-001', 'tiger3-002', 'tiger3-003'])).toBe('tiger3-[000-003]');
    expect(compressHostlist(['tiger3-007', 'tiger3-001', 'tiger3-000', 'tiger3-002'])).toBe('tiger3-[000-002,007]');
    expect(compressHostlist(['tiger3-017'])).toBe('tiger3-017');
    expect(compressHostlist(['a-1', 'a-2', 'b-07', 'local'])).toBe('a-[1-2],b-07,local');
    expect(compressHostlist([])).toBe('');
  });
});
