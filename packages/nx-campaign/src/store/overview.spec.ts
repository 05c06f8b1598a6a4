import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRun } from '../config/run';
import { fixture } from '../testing/fixture';
import { distinguishingLabels } from '../format/names';
import { failureCause, listRuns, runOverview, stagePage, stageRows } from './overview';
import { CampaignRecord, runFiles } from './record';
import { stageSummaries } from './recorder';

const stage = (name: string, deps: string) => `  ${name}:
    executable: "true"
    depends: ${deps}
    resources: {memory: 100M, runtime: 1m}
`;

function recorded(n: number) {
  const stages = [stage('a', 'null'), ...Array.from({ length: n - 1 }, (_, i) => stage(`s${i}`, '[a]'))].join('');
  const root = fixture({ 'nx.json': '{}', 'pipelines/p/pipeline.yaml': `stages:\n${stages}`, 'runs/r.yaml': 'pipelines: p\nsite: local\n' });
  const run = loadRun(root, 'runs/r.yaml');
  const rec = CampaignRecord.open(root, { NX_CAMPAIGN_RECORD: join(root, 'record.sqlite') });
  const v = rec.beginInvocation(run, runFiles(root, run), { site: 'local', backend: 'local', stages: stageSummaries(root, run) });
  return { root, run, rec, v };
}

describe('record overview', () => {
  it('counts each stage by its latest attempt, never-attempted ones as UNREADY, per group with a TOTAL', () => {
    const { rec, v } = recorded(4);
    const start = (stage: string) => rec.startAttempt(v, { stage, pipeline: 'p', backend: 'local', configHash: 'h', state: 'running' });
    rec.endAttempt(start('a'), { state: 'succeeded', exitCode: 0 });
    rec.endAttempt(start('s0'), { state: 'out-of-memory', exitCode: 137 });
    rec.endAttempt(start('s0'), { state: 'succeeded', exitCode: 0 }); // the retry
    rec.endAttempt(start('s1'), { state: 'failed', exitCode: 2, message: 'exited with code 2' });
    const o = runOverview(rec.db, 'r')!;
    expect(o.total).toEqual({ group: 'TOTAL', expected: 4, counts: { succeeded: 2, failed: 1, unready: 1 } });
    expect(o.groups).toEqual([{ group: 'p', expected: 4, counts: { succeeded: 2, failed: 1, unready: 1 } }]);
    expect(o.failures.map((f) => [f.cause, f.count, f.attempts.map((a) => a.stage)])).toEqual([['exit code 2', 1, ['s1']]]);
    expect(listRuns(rec.db).runs.map((r) => [r.name, r.state, r.expected, r.counts])).toEqual([['r', 'active', 4, { succeeded: 2, failed: 1, unready: 1 }]]);
    expect(listRuns(rec.db, { site: 'elsewhere' }).runs).toEqual([]);
    expect(stagePage(stageRows(rec.db, o), { offset: 0, limit: 10, state: 'unready' }).rows.map((r) => r.stage)).toEqual(['s2']);
    expect(stagePage(stageRows(rec.db, o), { offset: 1, limit: 2 }).rows.map((r) => [r.stage, r.state, r.attempts])).toEqual([['s0', 'succeeded', 2], ['s1', 'failed', 1]]);
    rec.close();
  });

  it('names failure causes as the dashboard groups them', () => {
    const f = (state: string, exit_code: number | null, message: string | null = null) => failureCause({ state: state as never, exit_code, message });
    expect([f('out-of-memory', 137), f('timeout', null), f('node-failure', null), f('failed', 1, 'pre-flight quantum graph failed, nothing submitted: ...'), f('failed', 0, 'succeeded, but outputs missing: deepCoadd'), f('failed', 4), f('cancelled', null)]).toEqual(['out of memory', 'timeout', 'node failure', 'pre-flight', 'missing outputs', 'exit code 4', 'cancelled']);
  });

  it('keeps a 10,000-stage run in one summary per version and counts it in SQL', () => {
    const { rec, v } = recorded(10_000);
    rec.db.transaction(() => {
      for (let i = 0; i < 9_000; i++) rec.endAttempt(rec.startAttempt(v, { stage: `s${i}`, pipeline: 'p', backend: 'local', configHash: 'h', state: 'running' }), { state: i % 10 ? 'succeeded' : 'failed', exitCode: i % 10 ? 0 : 1 });
    })();
    const o = runOverview(rec.db, 'r')!;
    expect(o.total.counts).toEqual({ succeeded: 8100, failed: 900, unready: 1000 });
    expect(o.failures[0].attempts).toHaveLength(3);
    rec.close();
  });
});

describe('distinguishing labels', () => {
  it('drops the prefix every name shares, up to a separator', () => {
    expect([...distinguishingLabels(['ml-null-tests.mission-tests.split1', 'ml-null-tests.mission-tests.split12', 'ml-null-tests.mission-tests.pwv']).values()]).toEqual(['split1', 'split12', 'pwv']);
    expect([...distinguishingLabels(['step1_g', 'step1_r']).values()]).toEqual(['g', 'r']);
    expect([...distinguishingLabels(['prepare', 'fit']).values()]).toEqual(['prepare', 'fit']);
    expect([...distinguishingLabels(['only.one']).values()]).toEqual(['only.one']);
    expect([...distinguishingLabels(['a.b', 'a.b.c']).values()]).toEqual(['b', 'b.c']);
    // Per pipeline, so that one stage of another pipeline does not keep the prefix on all the others.
    const pipeline = (n: string) => n.split('.').slice(0, -1).join('.') || n;
    expect([...distinguishingLabels(['ml-mapmaking', 'ml-null-tests.mission-tests.mission_split_1', 'ml-null-tests.mission-tests.mission_split_2', 'ml-null-tests.wafer-tests.wafer_split_1', 'ml-null-tests.wafer-tests.wafer_split_2'], pipeline).values()]).toEqual(['ml-mapmaking', 'mission_split_1', 'mission_split_2', 'wafer_split_1', 'wafer_split_2']);
    // ... unless the labels would no longer be unique: then the prefix of all names.
    expect([...distinguishingLabels(['step1_g', 'step1_r', 'step2a_g', 'step2a_r'], (n) => n.split('_')[0]).values()]).toEqual(['step1_g', 'step1_r', 'step2a_g', 'step2a_r']);
  });
});
