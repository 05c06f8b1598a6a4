/**
 * How a Rubin campaign step splits into groups, each one submission (RTN-023, cm-service): by
 * values (one group per value, `dim = v`, or per list of values, `dim IN (...)`), by ranges
 * (`min <= dim AND dim < max`), or by the distinct values a data query finds, cut into equal
 * parts of the sorted values (`lo <= dim AND dim < next`, the last open). Each group's query is
 * the campaign's AND the step's AND the group's condition.
 */

export type SplitValue = string | number;

export interface ValueGroup<S> {
  value: SplitValue | SplitValue[];
  /** Per-value settings (a band's own reference catalogue...). */
  settings?: S;
}

export type Split<S> =
  | { by: 'none' }
  | { by: 'values'; dimension: string; values: ValueGroup<S>[] }
  | { by: 'ranges'; dimension: string; ranges: { min?: number; max?: number }[] }
  | { by: 'query'; dimension: string; dataset?: string; maxSize?: number; minGroups?: number };

export interface Group<S> {
  /** `<step>`, `<step>_<value>`, or `<step>_group_<NNN>` (cm-service's names). */
  name: string;
  /** The group's own condition, undefined for one unsplit group. */
  condition?: string;
  /** The single value it stands for (split by values): groups of two steps split the same way match on it. */
  value?: SplitValue;
  settings?: S;
}

/** A value in a data query: numbers bare, text single-quoted (a quote in it is refused by the loader). */
export function queryLiteral(v: SplitValue): string {
  return typeof v === 'number' ? String(v) : `'${v}'`;
}

/** The parts joined with AND; a part with OR is parenthesized so that AND binds it whole. */
export function andQuery(...parts: (string | undefined)[]): string {
  return parts
    .map((p) => p?.trim())
    .filter((p): p is string => !!p)
    .map((p) => (/\bor\b/i.test(p) && !/^\(.*\)$/s.test(p) ? `(${p})` : p))
    .join(' AND ');
}

const pad = (i: number) => String(i).padStart(3, '0');

/** The groups of a split; `found`: the sorted distinct values a query split's query found. */
export function groupsOf<S>(step: string, split: Split<S>, found: SplitValue[] = []): Group<S>[] {
  switch (split.by) {
    case 'none':
      return [{ name: step }];
    case 'values':
      return split.values.map((g, i) => {
        if (Array.isArray(g.value)) return { name: `${step}_group_${pad(i)}`, condition: `${split.dimension} IN (${g.value.map(queryLiteral).join(', ')})`, settings: g.settings };
        return { name: `${step}_${g.value}`, condition: `${split.dimension} = ${queryLiteral(g.value)}`, value: g.value, settings: g.settings };
      });
    case 'ranges':
      return split.ranges.map((r, i) => ({
        name: `${step}_group_${pad(i)}`,
        condition: andQuery(r.min === undefined ? undefined : `${r.min} <= ${split.dimension}`, r.max === undefined ? undefined : `${split.dimension} < ${r.max}`) || undefined,
      }));
    case 'query':
      return partition(found, split.maxSize, split.minGroups).map((part, i, all) => {
        const lo = part[0];
        const next = all[i + 1]?.[0];
        const numeric = typeof lo === 'number';
        const condition = !numeric
          ? `${split.dimension} IN (${part.map(queryLiteral).join(', ')})`
          : next === undefined
            ? `${lo} <= ${split.dimension}`
            : `${lo} <= ${split.dimension} AND ${split.dimension} < ${next}`;
        return { name: `${step}_group_${pad(i)}`, condition };
      });
  }
}

/** Sorted values in k nearly equal parts: k = max(minGroups, ceil(n / maxSize)), at most n. */
export function partition<T>(values: T[], maxSize = Infinity, minGroups = 1): T[][] {
  const n = values.length;
  if (!n) return [];
  const k = Math.min(n, Math.max(minGroups, Math.ceil(n / maxSize)));
  const parts: T[][] = [];
  for (let i = 0; i < k; i++) parts.push(values.slice(Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)));
  return parts;
}
