import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../config/run';
import { dashboard } from '../dashboard/server';
import { fixture } from '../testing/fixture';
import { failureCause, runOverview } from './overview';
import { CampaignRecord, recordPath, runFiles } from './record';
import { Recorder } from './recorder';

const PIPELINE = `stages:
  a:
    executable: "true"
    depends: null
    resources: {memory: 100M, runtime: 1m}
  b:
    executable: "true"
    depends: null
    resources: {memory: 100M, runtime: 1m}
`;

function workspace() {
  const root = fixture({ 'nx.json': '{}', 'pipelines/p/pipeline.yaml': PIPELINE, 'runs/r.yaml': 'pipelines: p\n' });
  return { root, run: loadRun(root, 'runs/r.yaml'), env: { NX_CAMPAIGN_RECORD: join(root, 'rec', 'record.sqlite') } };
}

describe('failure classes and wait reasons in the record (schema 8)', () => {
  it('migrates a schema 7 record: its attempts kept, failure_class and wait_reason added empty', () => {
    const { root, run, env } = workspace();
    const rec = CampaignRecord.open(root, env);
    const v = rec.beginInvocation(run, runFiles(root, run), { backend: 'local' });
    const id = rec.startAttempt(v, { stage: 'a', pipeline: 'p', backend: 'local', configHash: 'h', state: 'running' });
    rec.endAttempt(id, { state: 'failed', exitCode: 1, message: 'exited with code 1' });
    rec.close();
    // Back to schema 7, as an older nx-campaign left it.
    const db = new Database(recordPath(root, env));
    db.exec('ALTER TABLE attempts DROP COLUMN failure_class; ALTER TABLE attempts DROP COLUMN wait_reason;');
    db.pragma('user_version = 7');
    db.close();

    const again = CampaignRecord.open(root, env);
    expect(again.db.pragma('user_version', { simple: true })).toBe(8);
    expect(again.attempts('r')).toMatchObject([{ stage: 'a', state: 'failed', exit_code: 1, failure_class: null, wait_reason: null }]);
    again.close();
  });

  it('keeps why a pending attempt waits until it runs, and each failure\'s class; the overview shows both', () => {
    const { root, run, env } = workspace();
    const rec = CampaignRecord.open(root, env);
    const r = new Recorder(rec, root);
    r.begin(run, { backend: 'slurm' });
    r.started(run, 'a', { backend: 'slurm', jobId: '11', state: 'pending' });
    r.started(run, 'b', { backend: 'slurm', jobId: '12', state: 'pending' });
    r.state(run, 'a', 'pending', undefined, 'ReqNodeNotAvail');
    r.state(run, 'b', 'pending', undefined, 'Priority');
    r.state(run, 'b', 'pending');
    const waiting = () => Object.fromEntries(rec.attempts('r').map((a) => [a.stage, a.wait_reason]));
    expect(waiting()).toEqual({ a: 'ReqNodeNotAvail', b: 'Priority' });
    const db = new Database(recordPath(root, env), { readonly: true });
    expect(runOverview(db, 'r')!.running.map((a) => [a.stage, a.wait_reason])).toEqual([['a', 'ReqNodeNotAvail'], ['b', 'Priority']]);
    r.state(run, 'b', 'running', 'node1');
    expect(waiting()).toEqual({ a: 'ReqNodeNotAvail', b: null });
    r.finished(run, 'a', { status: 'failure', state: 'node-failure', message: 'node node1 failed', output: '', failureClass: 'infrastructure' }, 'slurm');
    r.finished(run, 'b', { status: 'failure', state: 'failed', exitCode: 2, message: 'exited with code 2', output: '', failureClass: 'science' }, 'slurm');
    expect(rec.attempts('r').map((a) => [a.stage, a.failure_class, a.wait_reason])).toEqual([['a', 'infrastructure', null], ['b', 'science', null]]);
    expect(failureCause({ state: 'failed', exit_code: 1, message: 'file system full: /x is on /x with 0 B free of 2.0 MiB; exited with code 1' })).toBe('file system full');
    expect(runOverview(db, 'r')!.failures.map((f) => [f.cause, f.attempts.map((a) => a.failure_class)])).toEqual([['node failure', ['infrastructure']], ['exit code 2', ['science']]]);
    db.close();
    rec.close();
  });

  it('the dashboard shows why a pending job waits, and each failure\'s class with the counts per class', async () => {
    const { root, run, env } = workspace();
    const rec = CampaignRecord.open(root, env);
    const r = new Recorder(rec, root);
    r.begin(run, { backend: 'slurm' });
    r.started(run, 'a', { backend: 'slurm', jobId: '11', state: 'pending' });
    r.state(run, 'a', 'pending', undefined, 'ReqNodeNotAvail');
    r.started(run, 'b', { backend: 'slurm', jobId: '12', state: 'running' });
    r.finished(run, 'b', { status: 'failure', state: 'preempted', message: 'preempted by a higher priority job', output: '', failureClass: 'infrastructure' }, 'slurm');
    rec.close();
    const d = dashboard({ wsRoot: root, host: '127.0.0.1', port: 0, env });
    const get = async (path: string) => (await d.app.request(`http://localhost${path}`, { headers: { host: 'localhost' } })).text();
    try {
      const page = await get('/runs/r');
      expect(page).toMatch(/<tr data-stage="a">.*<td class="wait-reason">ReqNodeNotAvail<\/td>/);
      expect(page).toContain('by class: <span class="failure-class" data-class="infrastructure">1 infrastructure</span>');
      expect(page).toContain('<details class="failure" data-cause="preempted" open>');
      expect(page).toMatch(/data-stage="b" data-class="infrastructure">\s*<p>.*attempt 1, job 12, infrastructure: preempted by a higher priority job/);
      const stage = await get('/runs/r/stages/a');
      expect(stage).toContain('pending, waiting for: ReqNodeNotAvail');
      expect(await get('/runs/r/stages/b')).toContain('<td class="failure-class" data-class="infrastructure">infrastructure</td>');
    } finally {
      d.close();
    }
  });
});
