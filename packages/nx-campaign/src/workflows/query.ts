/**
 * An obsdb query is an SQL condition on the `obs` table, and nothing more: columns of that
 * table, literals, operators and a few scalar functions. No statement, sub-query, comment or
 * `;` gets through, so no query can run away (a recursive CTE never returns) or reach
 * beyond the table.
 */

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'between', 'like', 'glob', 'escape', 'true', 'false', 'case', 'when', 'then', 'else', 'end', 'collate', 'nocase', 'as', 'integer', 'real', 'text', 'numeric']);
const FUNCTIONS = new Set(['abs', 'round', 'lower', 'upper', 'length', 'substr', 'instr', 'coalesce', 'ifnull', 'min', 'max', 'cast', 'trim', 'replace']);
const OPERATORS = ['<>', '!=', '==', '<=', '>=', '||', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ','];

export type QueryCheck = { ok: true } | { ok: false; why: string; fix: string };

/** Whether `query` is a condition on `columns`, and if not, why, naming the part that is not. */
export function checkCondition(query: string, columns: string[]): QueryCheck {
  const known = new Set(columns.map((c) => c.toLowerCase()));
  const fix = `write a condition on the obs table's columns (${columns.join(', ')}) with literals, AND, OR, NOT, IN (...), BETWEEN, LIKE and comparisons, or "1" for all`;
  let i = 0;
  let depth = 0;
  while (i < query.length) {
    const rest = query.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    if (rest.startsWith('--') || rest.startsWith('/*')) return { ok: false, why: 'it has a comment', fix };
    const string = /^'(?:[^']|'')*'/.exec(rest);
    if (string) {
      i += string[0].length;
      continue;
    }
    if (rest.startsWith("'")) return { ok: false, why: 'a string is not closed', fix };
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
    if (number) {
      i += number[0].length;
      continue;
    }
    const word = /^(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+")/.exec(rest);
    if (word) {
      const name = word[0].replace(/^"(.*)"$/, '$1').toLowerCase();
      const call = /^\s*\(/.test(rest.slice(word[0].length));
      if (!KEYWORDS.has(name) && (call ? !FUNCTIONS.has(name) : !known.has(name))) {
        return { ok: false, why: call ? `${word[0]}() is not a function a condition may use (${[...FUNCTIONS].join(', ')})` : `${word[0]} is not a column of the obs table`, fix };
      }
      i += word[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) return { ok: false, why: `${JSON.stringify(rest[0])} has no place in a condition`, fix };
    if (op === '(') depth++;
    if (op === ')' && --depth < 0) return { ok: false, why: 'a ")" closes nothing', fix };
    i += op.length;
  }
  if (depth !== 0) return { ok: false, why: 'a "(" is not closed', fix };
  return { ok: true };
}
