import { describe, expect, it } from 'vitest';
import { problemsOf } from '../testing/fixture';
import { parseYaml } from './yaml-file';

describe('YAML files', () => {
  it('an alias to no anchor is an error at its line', () => {
    expect(problemsOf(() => parseYaml('stages:\n  a: {executable: sh}\nx: *nothere\n', 'p.yaml'))).toMatchObject([{ file: 'p.yaml', line: 3, message: 'alias *nothere names no anchor' }]);
  });

  it('aliases that expand exponentially (a "billion laughs") are an error, within milliseconds', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    lines.push('campaign: {deadline: 1h, resource: *a8}', 'stages: {s: {executable: sh}}');
    const started = Date.now();
    expect(problemsOf(() => parseYaml(`${lines.join('\n')}\n`, 'bomb.yaml'))).toMatchObject([{ message: expect.stringContaining('aliases expand to more than') }]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps the anchors real files use', () => {
    const y = parseYaml('nside: &n 16\nstages:\n  a: {executable: sh, script-kwargs: {nside: *n}}\n  b: {executable: sh, script-kwargs: {nside: *n}}\n', 'ok.yaml');
    expect(y.data).toMatchObject({ stages: { b: { 'script-kwargs': { nside: 16 } } } });
  });
});
