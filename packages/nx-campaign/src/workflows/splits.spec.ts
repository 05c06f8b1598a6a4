import { Body, Observer, SearchRiseSet } from 'astronomy-engine';
import { describe, expect, it } from 'vitest';
import type { Observation } from './obsdb';
import { DEFAULT_KNOBS, horizontal, isDay, nearEqualChunks, nullTestSplits, type SplitKnobs } from './splits';
import { WorkflowOptionError } from './types';

const T0 = Date.UTC(2025, 2, 1) / 1000; // 2025-03-01T00:00Z
const obs = (i: number, o: Partial<Observation> = {}): Observation => ({ obs_id: `obs_${String(i).padStart(3, '0')}`, timestamp: T0 + i * 3600, az_center: 120, el_center: 50, pwv: 1, wafers: ['ws0'], tube_slot: 'i1', n_samples: 100, ...o });
const knobs = (k: Partial<SplitKnobs> = {}): SplitKnobs => ({ ...DEFAULT_KNOBS, chunk_nobs: 10, nsplits: 2, ...k });
const ids = (os: Observation[]) => os.map((o) => o.obs_id.slice(4)).join(' ');
const summary = (test: string, list: Observation[], k: Partial<SplitKnobs> = {}) => nullTestSplits(test, list, knobs(k)).map((s) => `${s.label}: ${ids(s.observations)}`);

describe('null-test splits, as socm makes them', () => {
  it('cuts into ceil(n / chunk_nobs) near-equal chunks, the first ones longer (numpy array_split)', () => {
    expect(nearEqualChunks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toEqual([[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]);
    expect(nearEqualChunks([1, 2], 2)).toEqual([[1], [2]]);
  });

  it('mission: 25 observations, chunks of 10 -> 3 chunks (9, 8, 8) dealt to 2 splits in time order, numbered from 1', () => {
    const list = Array.from({ length: 25 }, (_, i) => obs(i)).reverse(); // any input order
    expect(summary('mission', list)).toEqual([
      'mission_split_1: 000 001 002 003 004 005 006 007 008 017 018 019 020 021 022 023 024',
      'mission_split_2: 009 010 011 012 013 014 015 016',
    ]);
  });

  it('keeps obs_id order (byte order, as SQLite sorts) among equal timestamps, and drops splits that get no chunk', () => {
    const list = [obs(3, { obs_id: 'b', timestamp: T0 }), obs(1, { obs_id: 'B', timestamp: T0 }), obs(2, { obs_id: 'a', timestamp: T0 }), obs(0, { obs_id: 'z', timestamp: T0 - 1 })];
    expect(nullTestSplits('mission', list, knobs({ chunk_nobs: 2, nsplits: 4 })).map((s) => `${s.label}: ${s.observations.map((o) => o.obs_id).join(' ')}`)).toEqual(['mission_split_1: z B', 'mission_split_2: a b']);
  });

  it('wafer: one group per tube:wafer slot of the site, in its order; an observation on two wafers is in both; --wafer is the wafer', () => {
    const list = [obs(0, { wafers: ['ws3', 'ws1'], tube_slot: 'st1' }), obs(1, { wafers: ['ws3'], tube_slot: 'st1' }), obs(2, { wafers: ['ws1'], tube_slot: 'st1' })];
    const splits = nullTestSplits('wafer', list, knobs({ chunk_nobs: 1, site: 'sat' }));
    expect(splits.map((s) => `${s.label} ${s.wafer}: ${ids(s.observations)}`)).toEqual(['wafer_ws1_split_1 ws1: 000', 'wafer_ws1_split_2 ws1: 002', 'wafer_ws3_split_1 ws3: 000', 'wafer_ws3_split_2 ws3: 001']);
    // so_lat (the default site): tube i1's wafers ws0-ws2 only.
    expect(summary('wafer', [obs(0, { wafers: ['ws0', 'ws3'] })], { chunk_nobs: 1 })).toEqual(['wafer_ws0_split_1: 000']);
  });

  it('wafer: observations of two tube slots are an error, as in socm', () => {
    expect(() => nullTestSplits('wafer', [obs(0), obs(1, { tube_slot: 'i2' })], knobs())).toThrow(WorkflowOptionError);
  });

  it('direction: az mod 360 within numpy isclose of 180 is middle, above sets, below rises; groups rising, setting, middle', () => {
    const list = [obs(0, { az_center: 180 }), obs(1, { az_center: 178.9 }), obs(2, { az_center: 180.0015 }), obs(3, { az_center: 540 }), obs(4, { az_center: -90 }), obs(5, { az_center: 180.01 })];
    expect(summary('direction', list)).toEqual(['direction_rising_split_1: 001', 'direction_setting_split_1: 004 005', 'direction_middle_split_1: 000 002 003']);
  });

  it('pwv: above the limit is high (pwv_high first); elevation: below the threshold is low (elevation_low first)', () => {
    const list = [obs(0, { pwv: 2, el_center: 45 }), obs(1, { pwv: 2.01, el_center: 44.99 })];
    expect(summary('pwv', list)).toEqual(['pwv_high_split_1: 001', 'pwv_low_split_1: 000']);
    expect(summary('pwv', list, { pwv_limit: 2.5 })).toEqual(['pwv_low_split_1: 000 001']);
    expect(summary('elevation', list)).toEqual(['elevation_low_split_1: 001', 'elevation_high_split_1: 000']);
  });

  it('day-night: day between the sunrise and sunset of the start\'s UTC date at San Pedro de Atacama', () => {
    const site = new Observer(-22.91, -68.2, 0);
    const midnight = new Date(Date.UTC(2025, 2, 1));
    const rise = SearchRiseSet(Body.Sun, site, +1, midnight, 1)!.date.getTime() / 1000;
    const set = SearchRiseSet(Body.Sun, site, -1, midnight, 1)!.date.getTime() / 1000;
    expect([isDay(rise - 60), isDay(rise + 60), isDay(set - 60), isDay(set + 60)]).toEqual([false, true, true, false]);
    const list = [obs(0, { timestamp: Date.UTC(2025, 2, 1, 16, 30) / 1000 }), obs(1, { timestamp: Date.UTC(2025, 2, 1, 6, 30) / 1000 })];
    expect(summary('day-night', list)).toEqual(['day_split_1: 000', 'night_split_1: 001']);
  });

  it('moonrise-set: in the sky between its rise and its set, also on a day without a moonrise (where socm fails)', () => {
    const site = new Observer(-22.91, -68.2, 0);
    let day = Date.UTC(2025, 2, 1);
    const riseIn = (d: number) => SearchRiseSet(Body.Moon, site, +1, new Date(d), 1);
    while (riseIn(day) !== null && riseIn(day)!.date.getTime() < day + 86_400_000) day += 86_400_000;
    expect(day).toBeLessThan(Date.UTC(2025, 3, 1));
    const list = Array.from({ length: 24 }, (_, h) => obs(h, { timestamp: (day + h * 3_600_000 + 1_800_000) / 1000 }));
    const expected = list.map((o) => {
      const t = new Date(o.timestamp * 1000);
      const rise = SearchRiseSet(Body.Moon, site, +1, t, -2)!.date.getTime();
      const set = SearchRiseSet(Body.Moon, site, -1, t, -2)!.date.getTime();
      return rise > set ? 'moon_insky' : 'moon_outsky';
    });
    const got = new Map(nullTestSplits('moonrise-set', list, knobs({ chunk_nobs: 100, nsplits: 1 })).flatMap((s) => s.observations.map((o) => [o.obs_id, s.label.replace(/_split_\d+$/, '')])));
    expect(list.map((o) => got.get(o.obs_id))).toEqual(expected);
    expect(new Set(expected).size).toBe(2); // the day has both
  });

  it.each([
    ['sun-close', Body.Sun, 'sun'],
    ['moon-close', Body.Moon, 'moon'],
  ] as const)('%s: within sun_distance_threshold plus the 1 degree field of view of the body is close', (test, body, name) => {
    // A time when the body is well up and more than 12 degrees below the zenith.
    let t = T0;
    for (; ; t += 1800) {
      const h = horizontal(body, t);
      if (h.altitude > 20 && h.altitude < 70) break;
    }
    const b = horizontal(body, t);
    const list = [obs(0, { timestamp: t, az_center: b.azimuth, el_center: b.altitude + 10.5 }), obs(1, { timestamp: t, az_center: b.azimuth, el_center: b.altitude + 11.5 }), obs(2, { timestamp: t, az_center: b.azimuth + 180, el_center: 45 })];
    expect(summary(test, list)).toEqual([`${name}_close_split_1: 000`, `${name}_far_split_1: 001 002`]);
    expect(summary(test, list, { sun_distance_threshold: 11 })).toEqual([`${name}_close_split_1: 000 001`, `${name}_far_split_1: 002`]);
  });
});
