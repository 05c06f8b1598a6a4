import { describe, expect, it } from 'vitest';
import { parseTables } from './butler';
import { andQuery, groupsOf, partition } from './splits';

describe('Rubin splits', () => {
  it('cuts sorted values into at least min_groups parts of at most max_size (40,000 visits in groups of 1,000)', () => {
    const visits = Array.from({ length: 40_000 }, (_, i) => 100_000 + i);
    const parts = partition(visits, 1000);
    expect(parts).toHaveLength(40);
    expect(parts.every((p) => p.length === 1000)).toBe(true);
    expect(partition([1, 2, 3, 4, 5, 6, 7], 10, 3).map((p) => p.length)).toEqual([2, 2, 3]);
    expect(partition([1, 2], 10, 5)).toHaveLength(2);
    expect(partition([], 10)).toEqual([]);
  });

  it('a query split: half-open ranges of the sorted values, the last open; text values as IN lists', () => {
    const g = groupsOf('step1', { by: 'query', dimension: 'visit', maxSize: 2 }, [10, 11, 12, 13, 20]);
    expect(g.map((x) => [x.name, x.condition])).toEqual([
      ['step1_group_000', '10 <= visit AND visit < 11'],
      ['step1_group_001', '11 <= visit AND visit < 13'],
      ['step1_group_002', '13 <= visit'],
    ]);
    expect(groupsOf('s', { by: 'query', dimension: 'band', maxSize: 2 }, ['g', 'i', 'r'])[0].condition).toBe("band IN ('g')");
  });

  it('values, lists of values, ranges, no split', () => {
    expect(groupsOf('step1', { by: 'values', dimension: 'band', values: [{ value: 'g' }, { value: [9615, 9697] }] }).map((x) => [x.name, x.condition, x.value])).toEqual([
      ['step1_g', "band = 'g'", 'g'],
      ['step1_group_001', 'band IN (9615, 9697)', undefined],
    ]);
    expect(groupsOf('s', { by: 'ranges', dimension: 'visit', ranges: [{ max: 5 }, { min: 5 }] }).map((x) => x.condition)).toEqual(['visit < 5', '5 <= visit']);
    expect(groupsOf('s', { by: 'none' })).toEqual([{ name: 's' }]);
  });

  it('queries AND together, a part with OR in parentheses', () => {
    expect(andQuery("instrument = 'DECam'", undefined, 'band = \'g\' OR band = \'r\'', '', 'visit > 3')).toBe("instrument = 'DECam' AND (band = 'g' OR band = 'r') AND visit > 3");
    expect(andQuery('', undefined)).toBe('');
  });
});

describe('the stack\'s tables', () => {
  it('reads columns by their dashes, blank headers and cells included (bps report, butler query-data-ids)', () => {
    const bps = [
      'X   STATE %S  ID OPERATOR PROJECT CAMPAIGN         PAYLOAD                    RUN',
      '- ------- -- --- -------- ------- -------- --------------- ----------------------',
      '  RUNNING 50 101     jane     dev    quick pipelines_check u_jane_pipelines_check',
      'F  FAILED 10 102     jane     dev    quick pipelines_check               u_jane_x',
      '',
      '',
      '      UNKNOWN MISFIT SUCCEEDED FAILED EXPECTED',
      '----- ------- ------ --------- ------ --------',
      'TOTAL       0      0         3      1        4',
      '  isr       0      0         2      0        2',
    ].join('\n');
    const [summary, detail] = parseTables(bps);
    expect(summary).toEqual([
      { X: '', STATE: 'RUNNING', '%S': '50', ID: '101', OPERATOR: 'jane', PROJECT: 'dev', CAMPAIGN: 'quick', PAYLOAD: 'pipelines_check', RUN: 'u_jane_pipelines_check' },
      { X: 'F', STATE: 'FAILED', '%S': '10', ID: '102', OPERATOR: 'jane', PROJECT: 'dev', CAMPAIGN: 'quick', PAYLOAD: 'pipelines_check', RUN: 'u_jane_x' },
    ]);
    expect(detail[0]).toEqual({ '': 'TOTAL', UNKNOWN: '0', MISFIT: '0', SUCCEEDED: '3', FAILED: '1', EXPECTED: '4' });
    const ids = parseTables('band instrument visit\n---- ---------- -----\n   g      DECam   903\n   r      DECam  1000\n');
    expect(ids[0]).toEqual([{ band: 'g', instrument: 'DECam', visit: '903' }, { band: 'r', instrument: 'DECam', visit: '1000' }]);
  });
});
