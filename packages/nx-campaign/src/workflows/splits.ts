/**
 * The nine ML null tests: each groups the selected observations, sorts each group by time,
 * cuts it into ceil(n / chunk_nobs) near-equal chunks, and deals chunk i to split i mod nsplits.
 * Empty groups and splits are dropped. Sun and moon positions come from astronomy-engine.
 */
import { Body, Equator, Horizon, Observer } from 'astronomy-engine';
import type { Observation } from './obsdb';

export interface ObservatorySite {
  latitude: number;
  longitude: number;
  /** Metres above sea level. */
  height: number;
}

/** The SO site in the Atacama (socm's default). */
export const ATACAMA: ObservatorySite = { latitude: -22.91, longitude: -68.2, height: 5190 };

export interface SplitKnobs {
  chunk_nobs: number;
  nsplits: number;
  /** direction: degrees either side of az 180 that count as "middle". */
  az_tolerance: number;
  /** pwv: above it (mm) is high. */
  pwv_limit: number;
  /** elevation: below it (degrees) is low. */
  el_limit: number;
  /** sun-close / moon-close: closer than this plus fov_radius (degrees) is close. */
  distance: number;
  fov_radius: number;
  site: ObservatorySite;
}

export const DEFAULT_KNOBS: SplitKnobs = { chunk_nobs: 10, nsplits: 2, az_tolerance: 1, pwv_limit: 2, el_limit: 45, distance: 10, fov_radius: 0, site: ATACAMA };

export interface Split {
  /** `<group>_split_<k>`: the output folder name. */
  label: string;
  group: string;
  index: number;
  observations: Observation[];
}

type Grouper = (o: Observation, k: SplitKnobs) => string[];

const observer = (s: ObservatorySite) => new Observer(s.latitude, s.longitude, s.height);

/** Altitude and azimuth (degrees) of a body seen from the site at a Unix time. */
export function horizontal(body: Body.Sun | Body.Moon, unixSeconds: number, site: ObservatorySite): { altitude: number; azimuth: number } {
  const date = new Date(unixSeconds * 1000);
  const obs = observer(site);
  const eq = Equator(body, date, obs, true, true);
  const h = Horizon(date, obs, eq.ra, eq.dec, 'normal');
  return { altitude: h.altitude, azimuth: h.azimuth };
}

/** Great-circle distance (degrees) between two horizontal directions. */
export function angularDistance(az1: number, el1: number, az2: number, el2: number): number {
  const r = Math.PI / 180;
  const c = Math.sin(el1 * r) * Math.sin(el2 * r) + Math.cos(el1 * r) * Math.cos(el2 * r) * Math.cos((az1 - az2) * r);
  return Math.acos(Math.min(1, Math.max(-1, c))) / r;
}

const close = (body: Body.Sun | Body.Moon, name: string): Grouper => (o, k) => {
  const b = horizontal(body, o.timestamp, k.site);
  return [angularDistance(o.az_center, o.el_center, b.azimuth, b.altitude) < k.distance + k.fov_radius ? `${name}_close` : `${name}_far`];
};

/** Test name (the `<name>-tests` table) -> the groups an observation belongs to. */
export const GROUPERS: Record<string, Grouper> = {
  mission: () => ['mission'],
  // An observation with several wafers is in each wafer's group.
  wafer: (o) => o.wafers,
  direction: (o, k) => {
    const az = ((o.az_center % 360) + 360) % 360;
    if (Math.abs(az - 180) <= k.az_tolerance) return ['middle'];
    return [az < 180 ? 'rising' : 'setting'];
  },
  pwv: (o, k) => [o.pwv > k.pwv_limit ? 'pwv_high' : 'pwv_low'],
  'day-night': (o, k) => [horizontal(Body.Sun, o.timestamp, k.site).altitude > 0 ? 'day' : 'night'],
  'moonrise-set': (o, k) => [horizontal(Body.Moon, o.timestamp, k.site).altitude > 0 ? 'moon_up' : 'moon_down'],
  elevation: (o, k) => [o.el_center < k.el_limit ? 'el_low' : 'el_high'],
  'sun-close': close(Body.Sun, 'sun'),
  'moon-close': close(Body.Moon, 'moon'),
};

export const NULL_TESTS = Object.keys(GROUPERS);

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

/** The non-empty splits of one null test, groups in first-seen order, splits by index. */
export function nullTestSplits(test: string, observations: Observation[], knobs: SplitKnobs): Split[] {
  const grouper = GROUPERS[test];
  const groups = new Map<string, Observation[]>();
  for (const o of observations) for (const g of grouper(o, knobs)) groups.set(g, [...(groups.get(g) ?? []), o]);
  const splits: Split[] = [];
  for (const [group, members] of groups) {
    const sorted = [...members].sort((a, b) => a.timestamp - b.timestamp || a.obs_id.localeCompare(b.obs_id));
    const chunks = nearEqualChunks(sorted, Math.ceil(sorted.length / knobs.chunk_nobs));
    const dealt: Observation[][] = Array.from({ length: knobs.nsplits }, () => []);
    chunks.forEach((c, i) => dealt[i % knobs.nsplits].push(...c));
    dealt.forEach((obs, index) => {
      if (obs.length) splits.push({ label: `${group}_split_${index}`, group, index, observations: obs });
    });
  }
  return splits;
}
