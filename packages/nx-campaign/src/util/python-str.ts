/**
 * Values as Python's `str()` and `repr()` print them, for programs whose users know the
 * command lines socm (Python) writes: True/False, 2.0 for a float, ['a', 'b'] for a list.
 */
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

/** Python's `repr()` of a string: single quotes unless it holds one and no double quote. */
function pyReprString(v: string): string {
  const q = v.includes("'") && !v.includes('"') ? '"' : "'";
  const body = v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t').replaceAll('\r', '\\r');
  return q + (q === "'" ? body.replaceAll("'", "\\'") : body) + q;
}

/** Python's `repr()`: what `str()` of a list shows of its items. */
function pyRepr(v: unknown): string {
  return typeof v === 'string' ? pyReprString(v) : pyStr(v);
}

/** Python's `str()` of a value; `float` says a number is a float (TOML `2.0`, or a float-typed field). */
export function pyStr(v: unknown, float = false): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return float || !Number.isInteger(v) ? pyFloat(v) : String(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${pyReprString(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}
