// Running Nx and reading what it printed, for tools/bench-local.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** The environment every Nx invocation gets: no daemon, no cloud, no TUI, nothing that changes timing. */
export function nxEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of ['NX_PERF_LOGGING', 'NX_PROFILE', 'NX_DAEMON', 'NX_TUI', 'NX_VERBOSE_LOGGING', 'NX_WORKSPACE_DATA_DIRECTORY', 'NX_PROJECT_GRAPH_CACHE_DIRECTORY', 'NX_CACHE_DIRECTORY', 'NX_SKIP_NX_CACHE', 'NX_BATCH_MODE']) delete env[k];
  return { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0', ...extra };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/**
 * Run `nx ARGS` in `ws` (through the workspace's node_modules, with this Node), wall-clock timed.
 * Returns { seconds, status, out, load } where `out` is stdout+stderr without colours.
 */
export function runNx(ws, args, { env = {}, timeoutSec = 600 } = {}) {
  const bin = join(ws, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
  const load = loadavg()[0];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: ws, env: nxEnv(env), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: timeoutSec * 1000 });
  const seconds = (performance.now() - t0) / 1000;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(ANSI, '');
  if (r.error) throw new Error(`nx ${args.join(' ')} in ${ws}: ${r.error.message}`);
  return { seconds, status: r.status, out, load };
}

/** Like runNx, but a non-zero exit is an error (with the tail of the output). */
export function runNxOk(ws, args, opts) {
  const r = runNx(ws, args, opts);
  if (r.status !== 0) throw new Error(`nx ${args.join(' ')} in ${ws} exited ${r.status}:\n${r.out.split('\n').slice(-40).join('\n')}`);
  return r;
}

/** What Nx said about the cache: { hits, total } from "Cache: N/M hit" or "... for N out of M tasks", else null. */
export function cacheStats(out) {
  let m = out.match(/Cache:\s+(\d+)\/(\d+) hit/);
  if (m) return { hits: Number(m[1]), total: Number(m[2]) };
  m = out.match(/Nx read the output from the cache instead of running the command for (\d+) out of (\d+) tasks/);
  if (m) return { hits: Number(m[1]), total: Number(m[2]) };
  m = out.match(/Successfully ran target \S+ for (\d+) projects?/);
  if (m) return { hits: 0, total: Number(m[1]) };
  return null;
}

/** Nx's own "Run duration:" (task execution, after the project graph), in seconds, or null. */
export function runDuration(out) {
  const m = out.match(/Run duration:\s+(?:(\d+)m\s*)?([\d.]+)(ms|s)/);
  if (!m) return null;
  return (m[1] ? Number(m[1]) * 60 : 0) + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
}

/** "Time taken for 'X' N ms" lines of NX_PERF_LOGGING=true, as [X, ms] (all of them, in order). */
export function perfLines(out) {
  return [...out.matchAll(/Time taken for '([^']+)' ([\d.]+)ms/g)].map((m) => [m[1], Number(m[2])]);
}

/** `du -sb DIR` in bytes (0 when it does not exist). */
export function duBytes(dir) {
  if (!existsSync(dir)) return 0;
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`du -sb ${dir}: ${r.stderr}`);
  return Number(r.stdout.split(/\s/)[0]);
}

export function countFiles(dir, filter = () => true) {
  return existsSync(dir) ? readdirSync(dir).filter(filter).length : 0;
}

export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmtS = (s) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : 'n/a');
export const fmtMs = (ms) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : 'n/a');
export const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');
export const fmtBytes = (b) => (Math.abs(b) >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : Math.abs(b) >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : Math.abs(b) >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);
export const samples = (xs, f = fmtS) => `[${xs.map((x) => f(x).replace(/ (s|ms)$/, '')).join(', ')}]`;
