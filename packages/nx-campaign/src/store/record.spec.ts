import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../config/run';
import { fixture } from '../testing/fixture';
import { CampaignRecord, journalMode, processAlive, recordPath, runFiles } from './record';

const PIPELINE = `stages:
  a:
    executable: "true"
    depends: null
    resources: {memory: 100M, runtime: 1m}
  b:
    executable: "true"
    depends: [a]
    resources: {memory: 100M, runtime: 1m}
`;

function workspace() {
  const root = fixture({ 'nx.json': '{}', 'pipelines/p/pipeline.yaml': PIPELINE, 'runs/r.yaml': 'pipelines: p\n' });
  return { root, run: loadRun(root, 'runs/r.yaml'), env: { NX_CAMPAIGN_RECORD: join(root, 'rec', 'record.sqlite') } };
}

const dist = resolve(__dirname, '../../dist/store/record.js');

describe('campaign record', () => {
  it('lives in .campaign/record.sqlite unless NX_CAMPAIGN_RECORD says otherwise', () => {
    expect(recordPath('/ws', {})).toBe('/ws/.campaign/record.sqlite');
    expect(recordPath('/ws', { NX_CAMPAIGN_RECORD: 'x/r.db' })).toBe('/ws/x/r.db');
    expect(recordPath('/ws', { NX_CAMPAIGN_RECORD: '/abs/r.db' })).toBe('/abs/r.db');
  });

  it('keeps .campaign/ out of git and of the Nx daemon\'s file watching (a .gitignore of *), and leaves a folder it does not own alone', () => {
    const root = fixture({ 'nx.json': '{}' });
    CampaignRecord.open(root, {}).close();
    expect(readFileSync(join(root, '.campaign/.gitignore'), 'utf8')).toMatch(/^\*$/m);
    CampaignRecord.open(root, { NX_CAMPAIGN_RECORD: 'records/r.db' }).close();
    expect(existsSync(join(root, 'records/.gitignore'))).toBe(false);
  });

  it('records an edited run file as a new version, keeping what was submitted before', () => {
    const { root, run, env } = workspace();
    const rec = CampaignRecord.open(root, env);
    const v1 = rec.beginInvocation(run, runFiles(root, run), { backend: 'local' });
    expect(v1.version).toBe(1);
    expect(Object.keys(v1.files)).toEqual(['pipelines/p/pipeline.yaml', 'runs/r.yaml']);
    rec.endInvocation(v1.invocationId, 'done');
    const same = rec.beginInvocation(run, runFiles(root, run), { backend: 'local' });
    expect(same.version).toBe(1);
    expect(same.previous).toBeUndefined();
    rec.endInvocation(same.invocationId, 'done');
    const edited = { ...runFiles(root, run), 'runs/r.yaml': 'pipelines: p\nresume: restart\n' };
    const v2 = rec.beginInvocation(run, edited, { backend: 'slurm' });
    expect(v2.version).toBe(2);
    expect(v2.previous).toEqual({ version: 1, files: v1.files });
    rec.close();
  });

  it('refuses a second invocation of a run while the first process lives, and takes over from a dead one', async () => {
    const { root, run, env } = workspace();
    // Another process holds the run: a child that begins an invocation and then sleeps.
    const holder = spawn(process.execPath, ['-e', `const {CampaignRecord,runFiles}=require(${JSON.stringify(dist)}); const {loadRun}=require(${JSON.stringify(resolve(__dirname, '../../dist/config/run.js'))}); const run=loadRun(${JSON.stringify(root)},'runs/r.yaml'); const r=CampaignRecord.open(${JSON.stringify(root)},${JSON.stringify(env)}); r.beginInvocation(run, runFiles(${JSON.stringify(root)}, run), {backend:'local'}); console.log('held'); setTimeout(()=>{}, 60000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => holder.stdout.on('data', (d) => String(d).includes('held') && res()));
    const rec = CampaignRecord.open(root, env);
    expect(() => rec.beginInvocation(run, runFiles(root, run), { backend: 'local' })).toThrow(new RegExp(`run r is already being run by process ${holder.pid} on `));
    holder.kill('SIGKILL');
    await new Promise((res) => holder.on('exit', res));
    const next = rec.beginInvocation(run, runFiles(root, run), { backend: 'local' });
    expect(next.lost).toHaveLength(1);
    expect(rec.db.prepare('SELECT state FROM invocations WHERE id = ?').get(next.lost[0])).toEqual({ state: 'lost' });
    rec.close();
  });

  it.runIf(existsSync('/proc/self/stat'))('counts a zombie as gone: a killed executor nothing reaps does not hold its run', async () => {
    // sh forks a child, then becomes a sleep that never waits for it; the child ends after that exec
    // (ended before it, sh could reap it).
    const parent = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const zombie = Number(await new Promise<string>((res) => parent.stdout.once('data', (d) => res(String(d).trim()))));
    for (let i = 0; i < 100 && !/\) Z/.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(`/proc/${zombie}/stat`, 'utf8')).toMatch(/\) Z/);
    expect(processAlive(zombie)).toBe(false);
    expect(processAlive(parent.pid!)).toBe(true);
    parent.kill('SIGKILL');
    await new Promise((res) => parent.on('exit', res));
    expect(processAlive(parent.pid!)).toBe(false);
  });

  it('journals with WAL on a local file system, with a rollback journal on a network one (NFS, Lustre, GPFS...)', () => {
    expect(journalMode('/x', {}, () => ({ type: 0xef53 }))).toEqual({ mode: 'wal', why: 'local file system' });
    expect(journalMode('/x', {}, () => ({ type: 0x6969 }))).toEqual({ mode: 'delete', why: 'NFS file system' });
    expect(journalMode('/x', {}, () => ({ type: 0x0bd00bd0 }))).toMatchObject({ mode: 'delete', why: 'Lustre file system' });
    expect(journalMode('/x', {}, () => ({ type: 0x47504653 }))).toMatchObject({ mode: 'delete', why: 'GPFS file system' });
    expect(journalMode('/x', { NX_CAMPAIGN_RECORD_JOURNAL: 'wal' }, () => ({ type: 0x6969 }))).toMatchObject({ mode: 'wal' });
    expect(() => journalMode('/x', { NX_CAMPAIGN_RECORD_JOURNAL: 'memory' })).toThrow(/not a journal mode/);
  });

  it.each([['wal', 'wal'], ['delete', 'delete']])('loses no rows when several processes write at once (journal %s)', async (mode, expected) => {
    const ws = workspace();
    const { root, run } = ws;
    const env = { ...ws.env, NX_CAMPAIGN_RECORD_JOURNAL: mode };
    const rec = CampaignRecord.open(root, env);
    const v = rec.beginInvocation(run, runFiles(root, run), { backend: 'local' });
    const writers = 4;
    const each = 150;
    const script = `const {CampaignRecord}=require(${JSON.stringify(dist)}); const r=CampaignRecord.open(${JSON.stringify(root)},${JSON.stringify(env)});
      for (let i=0;i<${each};i++){ const id=r.startAttempt(${JSON.stringify({ runId: v.runId, versionId: v.versionId, invocationId: v.invocationId })},{stage:'s'+(i%7),pipeline:'p',backend:'local',configHash:'h',state:'running'}); r.endAttempt(id,{state:'succeeded',seconds:i}); }
      r.close();`;
    expect(rec.db.pragma('journal_mode', { simple: true })).toBe(expected);
    const codes = await Promise.all(Array.from({ length: writers }, () => new Promise<number | null>((res) => spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('exit', res))));
    expect(codes).toEqual(Array(writers).fill(0));
    const rows = rec.db.prepare("SELECT stage, COUNT(*) AS n, COUNT(DISTINCT attempt) AS distinct_attempts, SUM(state = 'succeeded') AS ok FROM attempts GROUP BY stage").all() as { n: number; distinct_attempts: number; ok: number }[];
    expect(rows.reduce((s, r) => s + r.n, 0)).toBe(writers * each);
    for (const r of rows) expect([r.distinct_attempts, r.ok]).toEqual([r.n, r.n]);
    rec.close();
  });

  it('keeps escalated memory and gives the median of recent successful runtimes', () => {
    const { root, run, env } = workspace();
    const rec = CampaignRecord.open(root, env);
    const v = rec.beginInvocation(run, runFiles(root, run), { backend: 'local' });
    for (const [s, state] of [[10, 'succeeded'], [30, 'succeeded'], [999, 'failed'], [20, 'succeeded']] as const) {
      const id = rec.startAttempt(v, { stage: 'a', pipeline: 'p', backend: 'local', configHash: 'h1', state: 'running' });
      rec.endAttempt(id, { state, seconds: s, peakMemoryMB: s * 10 });
    }
    expect(rec.measured('p', 'a', 'h1')).toEqual({ seconds: 20, peakMemoryMB: 200, samples: 3 });
    expect(rec.measured('p', 'a', 'other')).toEqual({ seconds: undefined, peakMemoryMB: undefined, samples: 0 });
    rec.setTuning('p', 'a', 'h1', { memoryMB: 3000 });
    rec.setTuning('p', 'a', 'h1', { walltimeSeconds: 600 });
    expect(rec.tuning('p', 'a', 'h1')).toEqual({ memoryMB: 3000, walltimeSeconds: 600 });
    rec.close();
  });

  it('refuses a record written by a newer schema', () => {
    const { root, env } = workspace();
    CampaignRecord.open(root, env).close();
    spawnSync(process.execPath, ['-e', `const D=require('better-sqlite3'); const d=new D(${JSON.stringify(env.NX_CAMPAIGN_RECORD)}); d.pragma('user_version = 99'); d.close();`], { cwd: __dirname });
    expect(() => CampaignRecord.open(root, env)).toThrow(/written by a newer nx-campaign \(schema 99/);
  });
});
