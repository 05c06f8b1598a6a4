/**
 * Node ids in SLURM's hostlist notation: `tiger3-000 tiger3-001 tiger3-002 tiger3-007`
 * -> `tiger3-[000-002,007]`. Ids without a numeric suffix are listed as they are.
 */
export function compressHostlist(nodes: readonly string[]): string {
  const groups = new Map<string, { width: number; numbers: number[] }[]>();
  const plain: string[] = [];
  for (const node of nodes) {
    const m = /^(.*?)(\d+)$/.exec(node);
    if (!m) {
      plain.push(node);
      continue;
    }
    const [, prefix, digits] = m;
    const byWidth = groups.get(prefix) ?? [];
    groups.set(prefix, byWidth);
    let g = byWidth.find((x) => x.width === digits.length);
    if (!g) byWidth.push((g = { width: digits.length, numbers: [] }));
    g.numbers.push(Number(digits));
  }
  const parts: string[] = [];
  for (const [prefix, byWidth] of groups) {
    for (const { width, numbers } of byWidth) {
      const sorted = [...new Set(numbers)].sort((a, b) => a - b);
      const pad = (n: number) => String(n).padStart(width, '0');
      if (sorted.length === 1) {
        parts.push(`${prefix}${pad(sorted[0])}`);
        continue;
      }
      const ranges: string[] = [];
      for (let i = 0; i < sorted.length; ) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
        ranges.push(i === j ? pad(sorted[i]) : `${pad(sorted[i])}-${pad(sorted[j])}`);
        i = j + 1;
      }
      parts.push(`${prefix}[${ranges.join(',')}]`);
    }
  }
  return [...parts, ...plain].join(',');
}
