import { describe, expect, it } from 'vitest';
import { Progress } from './progress';

describe('Progress', () => {
  it('prints done / running / queued / failed and the time left, at most every interval and only on change', () => {
    let t = 0;
    const lines: string[] = [];
    const p = new Progress(['a', 'b', 'c', 'd'], (l) => lines.push(l), 5000, () => t);
    p.attempt('a', 'running');
    p.tick();
    expect(lines).toEqual([]); // not yet 5 s
    t = 10_000;
    p.ended('a', 'success');
    p.attempt('b', 'running');
    p.tick();
    // 1 of 4 ended in 10 s: 3 more at that pace.
    expect(lines).toEqual(['progress: 1/4 done, 1 running, 2 queued, 0 failed; about 30s left']);
    t = 20_000;
    p.tick();
    expect(lines).toHaveLength(1); // nothing changed
    p.ended('b', 'failure');
    p.ended('c', 'skipped');
    p.tick();
    expect(lines[1]).toBe('progress: 1/4 done, 0 running, 1 queued, 1 failed, 1 skipped; about 7s left');
    p.attempt('nope', 'running'); // not one of its stages
    t = 30_000;
    p.tick();
    expect(lines).toHaveLength(2);
  });
});
