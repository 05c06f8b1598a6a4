/**
 * Memory and runtime quantities as users type them. Memory is kept in MB (10^6 bytes):
 * G/GB and M/MB are decimal (as in socm), GiB/MiB binary. A bare number is refused: socm
 * reads it as bytes, users mean MB, and SLURM means MiB.
 */
const MEMORY_UNITS: Record<string, number> = {
  K: 1e-3, KB: 1e-3, KIB: 1024 / 1e6,
  M: 1, MB: 1, MIB: 1024 ** 2 / 1e6,
  G: 1e3, GB: 1e3, GIB: 1024 ** 3 / 1e6,
  T: 1e6, TB: 1e6, TIB: 1024 ** 4 / 1e6,
};

export type QuantityResult = { value: number } | { error: string; fix: string };

/** Bounds far beyond any real job, which keep typos and hostile values out of plans and scripts. */
export const MAX_MEMORY_MB = 1e9; // a petabyte
export const MAX_RUNTIME_SECONDS = 366 * 86400;

export function parseMemoryMB(input: unknown): QuantityResult {
  const text = String(input).trim();
  if (typeof input === 'number' || /^\d+(\.\d+)?$/.test(text)) {
    return { error: `memory "${text}" has no unit`, fix: `write it with a unit: "${text}M" for MB, "${text}G" for GB (48G = 48000 MB; 48GiB = 51540 MB)` };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)$/.exec(text);
  const factor = m ? MEMORY_UNITS[m[2].toUpperCase()] : undefined;
  if (!m || factor === undefined) {
    return { error: `memory "${text}" is not a size`, fix: 'write a number and a unit: 512M, 48G, 48GB or 48GiB' };
  }
  const value = Math.ceil(Number(m[1]) * factor);
  if (!(value > 0) || value > MAX_MEMORY_MB) return { error: `memory "${text}" is ${value > 0 ? 'more than a petabyte' : 'nothing'}`, fix: 'give the memory the stage needs, more than 0 (SLURM reads --mem=0 as the whole node)' };
  return { value };
}

const RUNTIME_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** 10m, 7h, 2d, 1h30m, SLURM's [D-]HH:MM:SS, MM:SS and D-HH[:MM]. */
export function parseRuntimeSeconds(input: unknown): QuantityResult {
  const r = parseRuntime(input);
  if ('error' in r) return r;
  if (r.value < 1 || r.value > MAX_RUNTIME_SECONDS) return { error: `runtime "${String(input).trim()}" is ${r.value < 1 ? 'under a second' : 'more than a year'}`, fix: 'give the time the stage takes, from 1s to 366d' };
  return r;
}

function parseRuntime(input: unknown): QuantityResult {
  const text = String(input).trim();
  const fail = { error: `runtime "${text}" is not a duration`, fix: 'write it as 10m, 7h, 2d, 1h30m, 1-12:00:00 (SLURM days-hours:minutes:seconds) or 90:00 (minutes:seconds)' };
  if (typeof input === 'number' || /^\d+$/.test(text)) {
    return { error: `runtime "${text}" has no unit (socm reads seconds, SLURM minutes)`, fix: `write "${text}s" for seconds or "${text}m" for minutes` };
  }
  if (/^(\d+(\.\d+)?[smhd])+$/.test(text)) {
    let total = 0;
    for (const [, n, u] of text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) total += Number(n) * RUNTIME_UNITS[u];
    return total > 0 && Number.isFinite(total) ? { value: Math.round(total) } : fail;
  }
  const slurm = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (slurm) {
    const [, d, a, b, c] = slurm;
    let h = 0, m = 0, s = 0;
    if (d !== undefined) [h, m, s] = [Number(a), Number(b ?? 0), Number(c ?? 0)];
    else if (c !== undefined) [h, m, s] = [Number(a), Number(b), Number(c)];
    else [m, s] = [Number(a), Number(b)];
    if (m >= 60 && (d !== undefined || c !== undefined)) return fail;
    if (s >= 60) return fail;
    const total = Number(d ?? 0) * 86400 + h * 3600 + m * 60 + s;
    return total > 0 ? { value: total } : fail;
  }
  return fail;
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.round(seconds % 60);
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join('') || '0s';
}

/** A measured time: tenths of a second below a minute, else as formatDuration. */
export function formatElapsed(seconds: number): string {
  return seconds < 60 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
}

/** A time in a table: `H:MM:SS`, or SLURM's `D-HH:MM:SS` from a day on. */
export function formatClock(seconds: number): string {
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`;
  return d ? `${d}-${String(h).padStart(2, '0')}:${mmss}` : `${h}:${mmss}`;
}

/** SLURM's --time: D-HH:MM:SS, rounded up to the second. */
export function slurmTime(seconds: number): string {
  const s = Math.ceil(seconds);
  const d = Math.floor(s / 86400);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d}-${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** SLURM's --mem (per node; sbatch and srun alike): whole MB, rounded up. SLURM's M is MiB: 5% more than asked, on the safe side. */
export function slurmMemory(memoryMBPerNode: number): string {
  return `${Math.ceil(memoryMBPerNode)}M`;
}

export function formatMemory(mb: number): string {
  return mb >= 1000 && mb % 1000 === 0 ? `${mb / 1000}G` : `${mb}M`;
}
