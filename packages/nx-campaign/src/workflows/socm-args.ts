/**
 * Values as socm writes them on a command line: Python's `str()` of what pydantic kept
 * (True/False, 2.0 for a float, lists comma-joined), `file://` paths made absolute, and
 * `--key=value` for every key the user set, sorted by key.
 */
import { CampaignError } from '../config/errors';

/** Python's `repr(float)`: the shortest round-trip digits, exponent below 1e-4 and from 1e16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, e] = x.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = x < 0 ? '-' : '';
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  return `${sign}${whole}.${digits.slice(exp + 1) || '0'}`;
}

/** Python's `str()` of a TOML value; `float` says the value is a float (TOML `2.0`, or a float-typed field). */
export function pyStr(v: unknown, float = false): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return float || !Number.isInteger(v) ? pyFloat(v) : String(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
  if (Array.isArray(v)) return v.map((x) => pyStr(x)).join(',');
  throw new CampaignError(`a table cannot be written on a command line: ${JSON.stringify(v)}`);
}

export interface ArgFormat {
  /** Keys whose value is a float (as TOML wrote it, or as the option's type says). */
  floats: ReadonlySet<string>;
  /** `file://x` -> absolute path. */
  path(value: string): string;
}

/** One option's value: `file://` made absolute, lists comma-joined, the rest as Python prints it. */
export function socmValue(key: string, v: unknown, f: ArgFormat): string {
  if (typeof v === 'string' && v.startsWith('file://')) return f.path(v);
  return pyStr(v, f.floats.has(key));
}

/** `--key=value` for every set key not in `excluded`, sorted by key. */
export function socmOptionArgs(values: Record<string, unknown>, excluded: ReadonlySet<string>, f: ArgFormat): string[] {
  return Object.keys(values)
    .filter((k) => values[k] !== undefined && values[k] !== null && !excluded.has(k))
    .sort()
    .map((k) => `--${k}=${socmValue(k, values[k], f)}`);
}
