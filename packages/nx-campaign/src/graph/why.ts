/**
 * Why a stage's fingerprint changed: the parts of two fingerprints (graph/fingerprint.ts)
 * compared, one short line per difference: a file (its size and time before and after), a
 * config key or environment variable (old and new value), the command, an input, a parent.
 */
import type { FingerprintParts } from './fingerprint';

const MAX_VALUE = 60;

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}\u2026` : text;
}

/** `a.b.c` -> value, for plain objects; arrays and scalars are leaves. */
function flatten(v: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (!entries.length && prefix) out.set(prefix, v);
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
  return out;
}

function stamp(s: string | undefined): string {
  if (!s || s === 'missing') return 'missing';
  const [size, mtime] = s.split(':');
  return `${size} bytes, ${new Date(Number(mtime)).toISOString().replace('T', ' ').slice(0, 19)}`;
}

/** Differences of keyed values as `<what> <key>: old -> new`. */
function mapDiff(what: string, a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).map((k) => `${what} ${k}: ${show(a.get(k))} -> ${show(b.get(k))}`);
}

/** What differs from `old` to `now`, most telling first; [] when they hash the same. */
export function fingerprintDiff(old: FingerprintParts, now: FingerprintParts): string[] {
  const out: string[] = [];
  const files = (p: FingerprintParts) => new Map(p.files);
  const fa = files(old), fb = files(now);
  for (const f of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    if (fa.get(f) === fb.get(f)) continue;
    if (!fa.has(f)) out.push(`file ${f} is new to the stage`);
    else if (!fb.has(f)) out.push(`file ${f} no longer defines the stage`);
    else out.push(`file ${f} changed (${stamp(old.stamps?.[f])} -> ${stamp(now.stamps?.[f])})`);
  }
  out.push(...mapDiff('config', flatten(old.config), flatten(now.config)));
  out.push(...mapDiff('environment', new Map(Object.entries(old.env ?? {})), new Map(Object.entries(now.env ?? {}))));
  const sa = new Map(old.sources), sb = new Map(now.sources);
  for (const k of [...new Set([...sa.keys(), ...sb.keys()])].sort()) {
    const [x, y] = [sa.get(k), sb.get(k)];
    if (x === y) continue;
    const input = (v?: string) => (v && v.includes('@') ? { path: v.slice(0, v.lastIndexOf('@')), stamp: v.slice(v.lastIndexOf('@') + 1) } : undefined);
    const [ix, iy] = [input(x), input(y)];
    if (ix && iy && ix.path === iy.path) out.push(`input ${iy.path} changed (${stamp(ix.stamp)} -> ${stamp(iy.stamp)})`);
    else out.push(`input ${k}: ${x ?? '(none)'} -> ${y ?? '(none)'}`);
  }
  if (JSON.stringify(old.argv) !== JSON.stringify(now.argv)) out.push(argvDiff(old.argv, now.argv));
  for (const [what, a, b] of [['folder', old.cwd, now.cwd], ['MPI launcher', old.mpi, now.mpi], ['outputs', old.outputs, now.outputs], ['output folder', old.outputDir, now.outputDir], ['files written before it starts', old.written, now.written]] as const) {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${what} changed: ${show(a)} -> ${show(b)}`);
  }
  const pa = old.parentNames ?? [], pb = now.parentNames ?? [];
  pb.forEach((p, i) => {
    const j = pa.indexOf(p);
    if (j < 0) out.push(`new parent ${p}`);
    else if (old.parents[j] !== now.parents[i]) out.push(`parent ${p} changed (it runs again first)`);
  });
  for (const p of pa) if (!pb.includes(p)) out.push(`no longer after ${p}`);
  return out;
}

/** A command's words: a path argument as it is written. */
function words(argv: unknown): string[] {
  return Array.isArray(argv) ? argv.map((a) => (a && typeof a === 'object' && 'file' in a ? `${(a as { prefix?: string }).prefix ?? ''}${(a as { file: string }).file}` : String(a))) : [String(argv)];
}

/** The words that differ, position by position when the commands are as long, else both whole. */
function argvDiff(a: unknown, b: unknown): string {
  const [x, y] = [words(a), words(b)];
  if (x.length === y.length) {
    const changed = x.flatMap((w, i) => (w === y[i] ? [] : [`${show(w)} -> ${show(y[i])}`]));
    return `command: ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` and ${changed.length - 3} more words` : ''}`;
  }
  return `command: ${show(x.join(' '))} -> ${show(y.join(' '))}`;
}
