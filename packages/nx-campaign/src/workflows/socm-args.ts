/**
 * Values as socm writes them on a command line: Python's `str()` of what pydantic kept
 * (True/False, 2.0 for a float, ['a', 'b'] for a list, which ml-mapmaking joins with commas),
 * `file://` paths made absolute, and `--key=value` for every key the user set, sorted by key.
 */
import { pyStr } from '../util/python-str';

export interface ArgFormat {
  /** Keys whose value is a float (as TOML wrote it, or as the option's type says). */
  floats: ReadonlySet<string>;
  /** `file://x` -> absolute path. */
  path(value: string): string;
  /** ml-mapmaking (and its null tests) join lists with commas; socm's other types print Python's `str(list)`. */
  joinLists?: boolean;
}

/** One option's value: `file://` made absolute, lists comma-joined or as Python prints them, the rest as Python prints it. */
export function socmValue(key: string, v: unknown, f: ArgFormat): string {
  if (typeof v === 'string' && v.startsWith('file://')) return f.path(v);
  if (Array.isArray(v) && f.joinLists) return v.map((x) => pyStr(x)).join(',');
  return pyStr(v, f.floats.has(key));
}

/** `--key=value` for every set key not in `excluded`, sorted by key. */
export function socmOptionArgs(values: Record<string, unknown>, excluded: ReadonlySet<string>, f: ArgFormat): string[] {
  return Object.keys(values)
    .filter((k) => values[k] !== undefined && values[k] !== null && !excluded.has(k))
    .sort()
    .map((k) => `--${k}=${socmValue(k, values[k], f)}`);
}
