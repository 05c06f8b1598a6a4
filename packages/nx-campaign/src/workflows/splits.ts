/**
 * The nine ML null tests, as socm splits them (REFERENCE.md section 1): each groups the
 * selected observations (groups in socm's fixed order), sorts each group by start time,
 * cuts it into ceil(n / chunk_nobs) near-equal chunks (numpy's array_split) and deals
 * chunk i to split i mod nsplits. A split's folder is `<group label>_split_<k>`, k counting
 * from 1 with a gap where a split is empty (mission: k counts the non-empty ones). Sun and
 * moon come from astronomy-engine.
 */
import { Body, Equator, Horizon, Observer, SearchRiseSet } from 'astronomy-engine';
import type { Observation } from './obsdb';
import { WorkflowOptionError } from './types';

/** San Pedro de Atacama, socm's site for its sun and moon tests. */
const ATACAMA = { latitude: -22.91, longitude: -68.2 };
/** socm puts the telescope at this height for the sun-close and moon-close tests. */
const TELESCOPE_HEIGHT_M = 5190;

export interface SplitKnobs {
  chunk_nobs: number;
  nsplits: number;
  /** pwv-tests: above it (mm) is high. */
  pwv_limit: number;
  /** elevation-tests: below it (degrees) is low. */
  elevation_threshold: number;
  /** sun-close-tests and moon-close-tests (socm's name for both): closer than this plus the field of view radius is close. */
  sun_distance_threshold: number;
  /** The mapmaker's `site`: which wafers exist (wafer-tests) and the field of view radius. */
  site: string;
}

export const DEFAULT_KNOBS = { pwv_limit: 2.0, elevation_threshold: 45.0, sun_distance_threshold: 10.0, site: 'so_lat' };

/** Test name (the `<name>-tests` table) -> socm's default nsplits. */
export const DEFAULT_NSPLITS: Record<string, number> = { mission: 8, wafer: 8, direction: 2, pwv: 2, 'day-night': 2, 'moonrise-set': 2, elevation: 2, 'sun-close': 2, 'moon-close': 2 };

/** The null tests in socm's registry order, which is the order it generates them in. */
export const NULL_TESTS = Object.keys(DEFAULT_NSPLITS);

/** Each test's own knobs (beyond chunk_nobs, chunk_duration and nsplits). */
export const TEST_KNOBS: Record<string, (keyof typeof DEFAULT_KNOBS)[]> = { pwv: ['pwv_limit'], elevation: ['elevation_threshold'], 'sun-close': ['sun_distance_threshold'], 'moon-close': ['sun_distance_threshold'] };

const LAT_WAFERS = ['c1', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6'].flatMap((tube) => ['ws0', 'ws1', 'ws2'].map((w) => `${tube}:${w}`));
const SAT_WAFERS = ['ws0', 'ws1', 'ws2', 'ws3', 'ws4', 'ws5', 'ws6'].map((w) => `st1:${w}`);
/** socm's `tube:wafer` slots per telescope site. */
export const WAFERS: Record<string, string[]> = { sat: SAT_WAFERS, act: ['st1:ws0'], lat: LAT_WAFERS, so_sat: SAT_WAFERS, so_lat: LAT_WAFERS };
/** Field of view radius (degrees) per site; socm lacks so_sat and so_lat (and crashes on its default): 1 as for the others. */
export const FOV_RADIUS: Record<string, number> = { sat: 1, act: 1, lat: 1, so_sat: 1, so_lat: 1 };

export interface Split {
  /** `<group label>_split_<k>`: the split's folder under the test's output_dir. */
  label: string;
  /** Passed as `--wafer=` (wafer-tests). */
  wafer?: string;
  observations: Observation[];
}

interface Group {
  label: string;
  wafer?: string;
  members: Observation[];
}

const observer = (height: number) => new Observer(ATACAMA.latitude, ATACAMA.longitude, height);

/** Altitude and azimuth (degrees) of the sun or moon, topocentric, as astropy's AltAz without pressure gives them. */
export function horizontal(body: Body.Sun | Body.Moon, unixSeconds: number, height = TELESCOPE_HEIGHT_M): { altitude: number; azimuth: number } {
  const date = new Date(unixSeconds * 1000);
  const obs = observer(height);
  const eq = Equator(body, date, obs, true, true);
  const h = Horizon(date, obs, eq.ra, eq.dec);
  return { altitude: h.altitude, azimuth: h.azimuth };
}

/** Great-circle distance (degrees) between two horizontal directions. */
export function angularDistance(az1: number, el1: number, az2: number, el2: number): number {
  const r = Math.PI / 180;
  const c = Math.sin(el1 * r) * Math.sin(el2 * r) + Math.cos(el1 * r) * Math.cos(el2 * r) * Math.cos((az1 - az2) * r);
  return Math.acos(Math.min(1, Math.max(-1, c))) / r;
}

/** socm (astral): day when the sun's rise <= start <= its set, both on the UTC date of the start. */
export function isDay(unixSeconds: number): boolean {
  const t = unixSeconds * 1000;
  const midnight = new Date(Math.floor(t / 86400000) * 86400000);
  const obs = observer(0);
  const rise = SearchRiseSet(Body.Sun, obs, +1, midnight, 1);
  const set = SearchRiseSet(Body.Sun, obs, -1, midnight, 1);
  return !!rise && !!set && rise.date.getTime() <= t && t <= set.date.getTime();
}

/**
 * The moon is in the sky between its rise and its set. socm compares against the rise and set
 * of the start's UTC date and fails on dates without one; the last event before the start
 * decides the same wherever socm works, and on those dates too.
 */
export function moonInSky(unixSeconds: number): boolean {
  const date = new Date(unixSeconds * 1000);
  const obs = observer(0);
  const rose = SearchRiseSet(Body.Moon, obs, +1, date, -2);
  const set = SearchRiseSet(Body.Moon, obs, -1, date, -2);
  if (!rose || !set) return !!rose;
  return rose.date.getTime() > set.date.getTime();
}

function twoWay(members: Observation[], pick: (o: Observation) => boolean, yes: string, no: string): Group[] {
  return [
    { label: yes, members: members.filter(pick) },
    { label: no, members: members.filter((o) => !pick(o)) },
  ];
}

const closeTo = (body: Body.Sun | Body.Moon) => (o: Observation, k: SplitKnobs) => {
  const b = horizontal(body, o.timestamp);
  return angularDistance(o.az_center, o.el_center, b.azimuth, b.altitude) <= k.sun_distance_threshold + FOV_RADIUS[k.site];
};

/** A test's groups, in socm's order; empty ones are dropped later. */
const GROUPS: Record<string, (obs: Observation[], k: SplitKnobs) => Group[]> = {
  mission: (obs) => [{ label: 'mission', members: obs }],
  wafer: (obs, k) => {
    const tubes = [...new Set(obs.map((o) => o.tube_slot))];
    if (tubes.length > 1) throw new WorkflowOptionError('query', `the query selects observations of ${tubes.length} tube slots (${tubes.join(', ')}); socm's wafer test needs one`, 'narrow the query to one tube_slot');
    return WAFERS[k.site].map((slot) => {
      const [tube, wafer] = slot.split(':');
      return { label: `wafer_${wafer}`, wafer, members: obs.filter((o) => o.wafers.includes(wafer) && o.tube_slot.includes(tube)) };
    });
  },
  direction: (obs) => {
    const of = (o: Observation) => {
      const az = ((o.az_center % 360) + 360) % 360;
      // numpy.isclose(az, 180): |az - 180| <= 1e-8 + 1e-5 * 180
      if (Math.abs(az - 180) <= 1e-8 + 1e-5 * 180) return 'middle';
      return az > 180 ? 'setting' : 'rising';
    };
    return ['rising', 'setting', 'middle'].map((d) => ({ label: `direction_${d}`, members: obs.filter((o) => of(o) === d) }));
  },
  pwv: (obs, k) => twoWay(obs, (o) => o.pwv > k.pwv_limit, 'pwv_high', 'pwv_low'),
  'day-night': (obs) => twoWay(obs, (o) => isDay(o.timestamp), 'day', 'night'),
  'moonrise-set': (obs) => twoWay(obs, (o) => moonInSky(o.timestamp), 'moon_insky', 'moon_outsky'),
  elevation: (obs, k) => twoWay(obs, (o) => o.el_center < k.elevation_threshold, 'elevation_low', 'elevation_high'),
  'sun-close': (obs, k) => twoWay(obs, (o) => closeTo(Body.Sun)(o, k), 'sun_close', 'sun_far'),
  'moon-close': (obs, k) => twoWay(obs, (o) => closeTo(Body.Moon)(o, k), 'moon_close', 'moon_far'),
};

/** numpy.array_split: `n` items into `parts` chunks, the first n mod parts one longer. */
export function nearEqualChunks<T>(items: T[], parts: number): T[][] {
  const out: T[][] = [];
  const base = Math.floor(items.length / parts);
  const extra = items.length % parts;
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}

/** socm's interleaving: sort by start (ties keep obs_id order), chunk, deal chunk i to split i mod nsplits. */
function deal(members: Observation[], k: SplitKnobs): Observation[][] {
  const sorted = [...members].sort((a, b) => a.timestamp - b.timestamp || (a.obs_id < b.obs_id ? -1 : a.obs_id > b.obs_id ? 1 : 0));
  const splits: Observation[][] = Array.from({ length: k.nsplits }, () => []);
  nearEqualChunks(sorted, Math.ceil(sorted.length / k.chunk_nobs)).forEach((c, i) => splits[i % k.nsplits].push(...c));
  return splits;
}

/** The non-empty splits of one null test, in socm's order and with its folder names. */
export function nullTestSplits(test: string, observations: Observation[], knobs: SplitKnobs): Split[] {
  const out: Split[] = [];
  for (const g of GROUPS[test](observations, knobs)) {
    if (!g.members.length) continue;
    deal(g.members, knobs).forEach((obs, i) => {
      if (!obs.length) return;
      const k = test === 'mission' ? out.length + 1 : i + 1;
      out.push({ label: `${g.label}_split_${k}`, ...(g.wafer ? { wafer: g.wafer } : {}), observations: obs });
    });
  }
  return out;
}
