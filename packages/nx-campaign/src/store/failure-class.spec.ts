import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../config/run';
import { fixture } from '../testing/fixture';
import { runOverview } from './overview';
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
    expect(runOverview(db, 'r')!.failures.map((f) => [f.cause, f.attempts.map((a) => a.failure_class)])).toEqual([['node failure', ['infrastructure']], ['exit code 2', ['science']]]);
    db.close();
    rec.close();
  });
});
