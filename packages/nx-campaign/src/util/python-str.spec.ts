import { describe, expect, it } from 'vitest';
import { pyFloat, pyStr } from './python-str';

describe("Python's str() and repr()", () => {
  // Each expectation is what python3 prints for the same value.
  it.each([
    [1e16, '1e+16'],
    [1234567890123456, '1234567890123456.0'],
    [0.0001, '0.0001'],
    [1e-5, '1e-05'],
    [2, '2.0'],
    [-0.5, '-0.5'],
    [1.5e300, '1.5e+300'],
    [0.1 + 0.2, '0.30000000000000004'],
  ])('repr(float %d) = %s', (x, text) => expect(pyFloat(x)).toBe(text));

  it('prints booleans, lists, tables and strings as Python does', () => {
    expect(pyStr(true)).toBe('True');
    expect(pyStr([1, 'a', true, 2.5, "it's"])).toBe(`[1, 'a', True, 2.5, "it's"]`);
    expect(pyStr({ a: 1, b: 'x' })).toBe(`{'a': 1, 'b': 'x'}`);
    expect(pyStr(3)).toBe('3');
    expect(pyStr(3, true)).toBe('3.0');
    expect(pyStr('a\\b')).toBe('a\\b');
  });
});
