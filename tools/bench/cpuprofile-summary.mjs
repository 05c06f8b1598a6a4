// Summarise a V8 .cpuprofile: top functions by self time and by inclusive time
// (recursion counted once). Usage: node cpuprofile-summary.mjs FILE [TOP]
import { readFileSync } from 'node:fs';

/** { total, self, incl }: sampled µs in all, and per function label ("name file:line"). */
export function profileTimes(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    const url = f.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '').replace(/.*\/nx-campaign\/dist\//, 'nx-campaign/');
    return `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
  };
  const self = new Map();
  const incl = new Map();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    let id = p.samples[i];
    const seen = new Set();
    let first = true;
    while (id !== undefined) {
      const k = label(byId.get(id));
      if (first) self.set(k, (self.get(k) ?? 0) + dt);
      first = false;
      if (!seen.has(k)) {
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  return { total, self, incl };
}

/** Inclusive ms of the first function whose label matches each [name, RegExp] pair (largest match). */
export function keyFigures(file, wanted) {
  const { incl } = profileTimes(file);
  const out = [];
  for (const [name, re] of wanted) {
    let best = 0;
    for (const [k, v] of incl) if (re.test(k)) best = Math.max(best, v);
    if (best > 0) out.push([name, best / 1000]);
  }
  return out;
}

export function summarizeProfile(file, top = 25) {
  const { total, self, incl } = profileTimes(file);
  const fmt = (m) =>
    [...m]
      .filter(([k]) => !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return `profile ${file}: ${(total / 1000).toFixed(0)} ms sampled\n-- self time --\n${fmt(self)}\n-- inclusive time --\n${fmt(incl)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 25)));
