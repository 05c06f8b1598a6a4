import { Body, Horizon, Equator, Observer, SearchRiseSet } from 'astronomy-engine';
import { describe, expect, it } from 'vitest';
import type { Observation } from './obsdb';
import { ATACAMA, DEFAULT_KNOBS, nearEqualChunks, nullTestSplits, type SplitKnobs } from './splits';

const T0 = Date.UTC(2025, 2, 1) / 1000; // 2025-03-01T00:00Z
const obs = (i: number, o: Partial<Observation> = {}): Observation => ({ obs_id: `obs_${String(i).padStart(3, '0')}`, timestamp: T0 + i * 3600, az_center: 120, el_center: 50, pwv: 1, wafers: ['ws0'], tube_slot: 'i1', n_samples: 100, ...o });
const knobs = (k: Partial<SplitKnobs> = {}): SplitKnobs => ({ ...DEFAULT_KNOBS, ...k });
const ids = (os: Observation[]) => os.map((o) => o.obs_id.slice(4)).join(' ');
const summary = (test: string, list: Observation[], k: Partial<SplitKnobs> = {}) => nullTestSplits(test, list, knobs(k)).map((s) => `${s.label}: ${ids(s.observations)}`);

describe('null-test splits', () => {
  it('cuts into ceil(n / chunk_nobs) near-equal chunks, the first ones longer', () => {
    expect(nearEqualChunks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toEqual([[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]);
    expect(nearEqualChunks([1, 2], 2)).toEqual([[1], [2]]);
  });

  it('mission: 25 observations, chunks of 10 -> 3 chunks (9, 8, 8) dealt to 2 splits in time order', () => {
    const list = Array.from({ length: 25 }, (_, i) => obs(i)).reverse(); // any input order
    expect(summary('mission', list, { chunk_nobs: 10, nsplits: 2 })).toEqual([
      'mission_split_0: 000 001 002 003 004 005 006 007 008 017 018 019 020 021 022 023 024',
      'mission_split_1: 009 010 011 012 013 014 015 016',
    ]);
  });

  it('breaks timestamp ties by obs_id, and drops splits that get no chunk', () => {
    const list = [obs(3, { timestamp: T0 }), obs(1, { timestamp: T0 }), obs(2, { timestamp: T0 }), obs(0, { timestamp: T0 - 1 })];
    expect(summary('mission', list, { chunk_nobs: 2, nsplits: 4 })).toEqual(['mission_split_0: 000 001', 'mission_split_1: 002 003']);
  });

  it('wafer: an observation on two wafers is in both groups; groups without observations do not exist', () => {
    const list = [obs(0, { wafers: ['ws1', 'ws3'] }), obs(1, { wafers: ['ws3'] }), obs(2, { wafers: ['ws1'] })];
    expect(summary('wafer', list, { chunk_nobs: 1, nsplits: 2 })).toEqual(['ws1_split_0: 000', 'ws1_split_1: 002', 'ws3_split_0: 000', 'ws3_split_1: 001']);
  });

  it('direction: az below 180 rises, above sets, exactly 180 (mod 360, within the tolerance) is middle', () => {
    const list = [obs(0, { az_center: 180 }), obs(1, { az_center: 178.9 }), obs(2, { az_center: 180.9 }), obs(3, { az_center: 540 }), obs(4, { az_center: -90 }), obs(5, { az_center: 181.5 })];
    expect(summary('direction', list, { chunk_nobs: 10 })).toEqual(['middle_split_0: 000 002 003', 'rising_split_0: 001', 'setting_split_0: 004 005']);
  });

  it('pwv and elevation: a value at the limit is low (pwv) and high (elevation)', () => {
    const list = [obs(0, { pwv: 2, el_center: 45 }), obs(1, { pwv: 2.01, el_center: 44.99 })];
    expect(summary('pwv', list)).toEqual(['pwv_low_split_0: 000', 'pwv_high_split_0: 001']);
    expect(summary('elevation', list)).toEqual(['el_high_split_0: 000', 'el_low_split_0: 001']);
  });

  it('day-night at the Atacama: local noon is day, local 2 am is night', () => {
    // The site is at 68.2 W: local solar noon is about 16:33 UTC.
    const list = [obs(0, { timestamp: Date.UTC(2025, 2, 1, 16, 30) / 1000 }), obs(1, { timestamp: Date.UTC(2025, 2, 1, 6, 30) / 1000 })];
    expect(summary('day-night', list)).toEqual(['day_split_0: 000', 'night_split_0: 001']);
  });

  it('moonrise-set: agrees with the moon\'s rise and set events, including on a day with no moonrise', () => {
    const site = new Observer(ATACAMA.latitude, ATACAMA.longitude, ATACAMA.height);
    // A UTC day in March 2025 without a moonrise at the site (the moon rises ~50 min later each day).
    let day = Date.UTC(2025, 2, 1);
    const riseIn = (d: number) => SearchRiseSet(Body.Moon, site, +1, new Date(d), 1);
    while (riseIn(day) !== null && riseIn(day)!.date.getTime() < day + 86_400_000) day += 86_400_000;
    expect(day).toBeLessThan(Date.UTC(2025, 3, 1));
    const list = Array.from({ length: 24 }, (_, h) => obs(h, { timestamp: (day + h * 3_600_000 + 1_800_000) / 1000 }));
    // Up when the latest event before it was a rise.
    const expected = list.map((o) => {
      const t = new Date(o.timestamp * 1000);
      const rise = SearchRiseSet(Body.Moon, site, +1, t, -2)!.date.getTime();
      const set = SearchRiseSet(Body.Moon, site, -1, t, -2)!.date.getTime();
      return rise > set ? 'moon_up' : 'moon_down';
    });
    const got = new Map(nullTestSplits('moonrise-set', list, knobs({ chunk_nobs: 100, nsplits: 1 })).flatMap((s) => s.observations.map((o) => [o.obs_id, s.group])));
    expect(list.map((o) => got.get(o.obs_id))).toEqual(expected);
    expect(new Set(expected).size).toBe(2); // the day has both
  });

  it('sun-close: pointing at the sun is close, pointing away is far; the field-of-view radius widens it', () => {
    const t = Date.UTC(2025, 2, 1, 15) / 1000;
    const site = new Observer(ATACAMA.latitude, ATACAMA.longitude, ATACAMA.height);
    const eq = Equator(Body.Sun, new Date(t * 1000), site, true, true);
    const sun = Horizon(new Date(t * 1000), site, eq.ra, eq.dec, 'normal');
    const list = [obs(0, { timestamp: t, az_center: sun.azimuth + 3, el_center: sun.altitude }), obs(1, { timestamp: t, az_center: sun.azimuth + 180, el_center: 45 }), obs(2, { timestamp: t, az_center: sun.azimuth, el_center: sun.altitude + 12 })];
    expect(summary('sun-close', list)).toEqual(['sun_close_split_0: 000', 'sun_far_split_0: 001 002']);
    expect(summary('sun-close', list, { fov_radius: 3 })).toEqual(['sun_close_split_0: 000 002', 'sun_far_split_0: 001']);
  });
});
