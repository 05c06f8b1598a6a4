import { describe, expect, it } from 'vitest';
import { checkCondition } from './query';

const COLUMNS = ['obs_id', 'timestamp', 'el_center', 'pwv', 'type', 'subtype', 'tube_slot'];

describe('obsdb query conditions', () => {
  it.each(['1', "obs_id='1575600533.1575611468.ar5_1'", 'el_center > 45 AND pwv < 2.0', "type='obs' and subtype IN ('cmb', 'cal')", "tube_slot = 'i1'", 'NOT (pwv BETWEEN 1 AND 2) OR abs(el_center - 50) <= 1e1', '"pwv" IS NOT NULL'])('accepts %s', (q) => {
    expect(checkCondition(q, COLUMNS)).toEqual({ ok: true });
  });

  it.each([
    ['1; DROP TABLE obs', '";" has no place in a condition'],
    ['pwv > 1 /* x */', 'it has a comment'],
    ['EXISTS (SELECT 1)', 'EXISTS() is not a function'],
    ['obs_id IN (SELECT obs_id FROM obs)', 'SELECT is not a column'],
    ['elevation > 50', 'elevation is not a column'],
    ['load_extension(\'x\')', 'load_extension() is not a function'],
    ['(pwv > 1', 'a "(" is not closed'],
    ['pwv > 1)', 'a ")" closes nothing'],
    ["type = 'obs", 'a string is not closed'],
  ])('refuses %s: %s', (q, why) => {
    const r = checkCondition(q, COLUMNS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).toContain(why);
  });
});
