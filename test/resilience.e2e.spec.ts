import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRun, campaign, copyWorkspace, pythonStage, removeWorkspace, runStages, writeFile } from './workspace';

const ci = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** A suite that needs `what` (`why` it is missing, else undefined): run where it is, a failure under CI, else skipped loudly. */
function describeNeeding(name: string, missing: string | undefined, fix: string, fn: () => void): void {
  if (!missing) describe.sequential(name, fn);
  else if (ci) describe(name, () => it(`has ${fix.split(':')[0]}`, () => {
    throw new Error(`${missing}, and CI needs this test: ${fix}`);
  }));
  else describe.skip(`${name} [needs ${missing.replace(/^no /, '')}]`, fn);
}

const root = process.getuid?.() === 0;
const libfaketime = readdirSync('/usr/lib', { withFileTypes: true }).map((d) => join('/usr/lib', d.name, 'faketime', 'libfaketime.so.1')).find((p) => existsSync(p));

type Row = { stage: string; attempt: number; state: string; failure_class: string | null; message: string | null; seconds: number | null; started_at: string | null; ended_at: string | null };
const attempts = (ws: string, run: string): Row[] => {
  const db = new Database(join(ws, '.campaign', 'record.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT a.stage, a.attempt, a.state, a.failure_class, a.message, a.seconds, a.started_at, a.ended_at FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.name = ? ORDER BY a.id').all(run) as Row[];
  } finally {
    db.close();
  }
};

describeNeeding('a full file system', root ? undefined : 'no root (to mount a tmpfs)', 'root: mount -t tmpfs needs it (.ci/run runs as root)', () => {
  let ws: string;
  let disk: string;

  /** A run whose output and log folders are on the 2 MiB tmpfs. */
  const onDisk = (name: string, stages: string[], retries = '') => {
    addRun(ws, name, stages);
    writeFile(ws, `runs/${name}.yaml`, `pipelines: ${name}\noutput_dir: results/disk/${name}/outputs\nlog_dir: results/disk/${name}/logs\n${retries}`);
  };

  beforeAll(() => {
    ws = copyWorkspace();
    disk = join(ws, 'results', 'disk');
    mkdirSync(disk, { recursive: true });
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
  });
  afterAll(() => {
    if (disk) spawnSync('umount', [disk]);
    if (ws) removeWorkspace(ws);
  });

  it('a stage that fills it fails as infrastructure, saying where and what to do, and is not retried', () => {
    // Writes until the disk refuses, then exits 1 as a program would; its own log is on that disk too.
    const fill = pythonStage('fill', "import sys\nf = open('big.bin', 'wb')\ntry:\n    while True: f.write(b'x' * 65536); f.flush()\nexcept OSError as e:\n    print('writing big.bin:', e); sys.exit(1)", { outputs: ['out/fill.txt'] });
    onDisk('fill', [fill], 'retries: {count: 2, infrastructure: 3}\n');
    const r = runStages(ws, 'fill');
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toMatch(/fill\/fill: file system full: \S+\/results\/disk\/fill\/(?:logs|outputs|outputs\/out) is on \S+\/results\/disk \(tmpfs\) with \d+(?:\.\d)? (?:B|KiB) free of 2\.0 MiB; .*\n {2}fix: free space there and run again/);
    expect(r.out).not.toMatch(/retry \d+ of/);
    expect(r.out).not.toMatch(/^\s+at /m);
    expect(attempts(ws, 'fill')).toMatchObject([{ stage: 'fill', attempt: 1, state: 'failed', failure_class: 'infrastructure' }]);
    const report = campaign(ws, ['report', 'fill']);
    expect(report.out).toContain('failures by class: 1 infrastructure');
    expect(report.out).toMatch(/fill: failed \(exit 1, infrastructure\): file system full: /);
  });

  it('a stage whose log cannot even be started fails the same way: no stack trace, nothing left running, nothing reported done', () => {
    onDisk('after', [pythonStage('ok', "open('ok.txt', 'w').write('ok')", { outputs: ['out/ok.txt'] })]);
    const r = runStages(ws, 'after');
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toMatch(/after\/ok: file system full: \S+ is on \S+ \(tmpfs\) with .* free of 2\.0 MiB; could not write its log \S+ok\.log: No space left on device/);
    expect(r.out).toContain('  fix: free space there and run again');
    expect(r.out).not.toMatch(/^\s+at /m);
    expect(attempts(ws, 'after')).toMatchObject([{ stage: 'ok', state: 'failed', failure_class: 'infrastructure' }]);
    const all = [...attempts(ws, 'fill'), ...attempts(ws, 'after')];
    expect(all.filter((a) => a.state === 'running' || a.state === 'pending' || a.state === 'succeeded')).toEqual([]);
    expect(campaign(ws, ['status']).out).toMatch(/after .* 1 failed\s+.*1 infrastructure/);
  });
});

describeNeeding('durations against the wall clock', libfaketime ? undefined : 'no libfaketime', 'libfaketime: tools/apt-install.sh faketime as root (.ci/run does)', () => {
  let ws: string;
  let clock: string;

  beforeAll(() => {
    ws = copyWorkspace();
    clock = join(ws, 'faketime');
    // Sleeps 1 s, sets the wall clock of nx and the launcher 2 h back, sleeps 2 s more. The stage
    // itself runs without libfaketime: its sleeps under it fail (EINVAL) on some Pythons.
    const nap = "import os, time\ntime.sleep(1)\nopen(os.environ['FAKETIME_TIMESTAMP_FILE'], 'w').write('-2h\\n')\ntime.sleep(2)\nopen('out/nap.txt', 'w').write('rested')";
    addRun(ws, 'nap', [`  nap:\n    executable: env\n    script-args: ["-u", "LD_PRELOAD", "python3", "-c", ${JSON.stringify(nap)}]\n    depends: null\n    outputs: [out/nap.txt]\n    resources: {memory: 100M, runtime: 1m}\n`]);
    addRun(ws, 'zone', [pythonStage('zone', "import time\ntime.sleep(1)\nopen('out/zone.txt', 'w').write('ok')", { outputs: ['out/zone.txt'] })]);
  });
  afterAll(() => ws && removeWorkspace(ws));

  it('a jump of the wall clock by -2 h during a stage leaves its duration alone (nx and the stage launcher see the jump)', () => {
    writeFileSync(clock, '+0\n');
    const r = runStages(ws, 'nap', [], { LD_PRELOAD: libfaketime, DONT_FAKE_MONOTONIC: '1', FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_CACHE_DURATION: '1' });
    expect(r.status, r.out).toBe(0);
    expect(readFileSync(clock, 'utf8')).toBe('-2h\n');
    const [a] = attempts(ws, 'nap');
    expect(a.state).toBe('succeeded');
    // The jump happened: the recorded end (wall clock) is about 2 h before the start.
    expect(Date.parse(a.ended_at!) - Date.parse(a.started_at!)).toBeLessThan(-3600_000);
    expect(a.seconds).toBeGreaterThan(2.5);
    expect(a.seconds).toBeLessThan(30);
    expect(r.out).toMatch(/nap\/nap: done in [0-9.]+ ?s/);
  });

  it('a time zone other than UTC changes neither the recorded times (ISO UTC) nor the durations', () => {
    const before = Date.now();
    const r = runStages(ws, 'zone', [], { TZ: 'Pacific/Chatham' });
    expect(r.status, r.out).toBe(0);
    const [a] = attempts(ws, 'zone');
    for (const t of [a.started_at!, a.ended_at!]) {
      expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(t) - before)).toBeLessThan(120_000);
    }
    expect(a.seconds).toBeGreaterThan(0.9);
    expect(a.seconds).toBeLessThan(30);
  });
});
