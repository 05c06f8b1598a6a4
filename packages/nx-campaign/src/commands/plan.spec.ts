import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../testing/fixture';
import { planCommand } from './plan';

const DAG = `campaign: {resource: tiger3, requested_resources: 112, deadline: 90m}
stages:
  a: {executable: sh, depends: null, resources: {ranks: 112, runtime: 1h}}
  b: {executable: sh, depends: null, resources: {ranks: 112, runtime: 1h}}
  c: {executable: sh, depends: [a, b], resources: {runtime: 10m}}
`;

describe('planCommand', () => {
  let ws: string | undefined;
  afterEach(() => ws && rmSync(ws, { recursive: true, force: true }));

  it('prints the table and the missed deadline with its critical path and suggestions', () => {
    ws = fixture({ 'nx.json': '{}', 'sub/dag.yml': DAG });
    const out = planCommand(join(ws, 'sub'), 'dag.yml', { svg: 'g.svg' });
    expect(out.stdout).toMatch(/^plan of sub\/dag\.yml on tiger3/);
    expect(out.stdout).toMatch(/deadline 1h30m \(campaign\.deadline in sub\/dag\.yml\): MISSED by 40m\n {2}critical path \(stage, start, end\):\n {4}[ab] +0:00:00 +1:00:00\n {4}[ab] +1:00:00 +2:00:00\n {4}c +2:00:00 +2:10:00\n {2}to meet it:\n {4}- more nodes: the allocation is 1 node\(s\)/);
    expect(out.stdout).toMatch(/Gantt chart: g\.svg\n$/);
    expect(existsSync(join(ws, 'sub/g.svg'))).toBe(true);
  });

  it('--json: JSON alone on stdout; the missed deadline goes to stderr', () => {
    ws = fixture({ 'dag.yml': DAG });
    const out = planCommand(ws, 'dag.yml', { json: true });
    const json = JSON.parse(out.stdout);
    expect(json).toMatchObject({ makespanSeconds: 7800, deadlineSeconds: 5400, meetsDeadline: false });
    expect(json.suggestions.length).toBeGreaterThan(0);
    expect(out.stderr).toMatch(/^warning: deadline 1h30m .* MISSED by 40m/m);
    expect(readFileSync(join(ws, 'dag.yml'), 'utf8')).toBe(DAG);
  });
});
