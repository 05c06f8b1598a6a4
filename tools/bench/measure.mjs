// Running Nx and reading what it printed, for tools/bench-local.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
 * Resolves to { seconds, status, out, load, phases } where `out` is stdout+stderr without colours.
 *
 * Output goes to a file, not a pipe: Node makes a child's stdout asynchronous when it is a
 * socket (what spawn's 'pipe' gives), and Nx's process.exit() then drops the tail of what it
 * printed; file writes are synchronous. The file is polled every few ms, so `phases` can split
 * the wall time at the lines Nx prints: `start` = until " NX   Running target" (start-up,
 * plugins, project graph, task graph and hashing every task whose inputs are known up front),
 * `tasks` = from there to the final "Successfully ran" / "Ran target" line (cache look-ups,
 * execution, cache writes), `exit` = the rest. Resolution: the poll interval (~5 ms).
 */
export function runNx(ws, args, { env = {}, timeoutSec = 600 } = {}) {
  const bin = join(ws, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
  const load = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-out-'));
  const file = join(dir, 'out.txt');
  const fd = openSync(file, 'w+');
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: ws, env: nxEnv(env), stdio: ['ignore', fd, fd] });
    let text = '';
    let offset = 0; // the child shares the write fd's offset: read at our own
    let tRunning;
    let tDone;
    const buf = Buffer.alloc(1 << 16);
    const poll = () => {
      const now = performance.now();
      let n;
      const before = text.length;
      while ((n = readSync(fd, buf, 0, buf.length, offset)) > 0) {
        text += buf.toString('utf8', 0, n); // chunk edges may split a UTF-8 character; Nx's markers are ASCII
        offset += n;
      }
      if (text.length === before) return;
      const seen = text.slice(Math.max(0, before - 200)).replace(ANSI, '');
      if (tRunning === undefined && /NX\s+Running target/.test(seen)) tRunning = now;
      if (tDone === undefined && /NX\s+(Successfully ran target|Ran target|Running target .* failed)/.test(seen)) tDone = now;
    };
    const ticker = setInterval(poll, 5);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutSec * 1000);
    const finish = () => {
      clearInterval(ticker);
      clearTimeout(timer);
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    };
    child.on('error', (e) => {
      finish();
      reject(new Error(`nx ${args.join(' ')} in ${ws}: ${e.message}`));
    });
    child.on('exit', (status, signal) => {
      const end = performance.now();
      poll();
      finish();
      const seconds = (end - t0) / 1000;
      const phases = tRunning !== undefined && tDone !== undefined ? { start: (tRunning - t0) / 1000, tasks: (tDone - tRunning) / 1000, exit: (end - tDone) / 1000 } : null;
      resolvePromise({ seconds, status: signal ? `killed by ${signal}` : status, out: text.replace(ANSI, ''), load, phases });
    });
  });
}

/** Like runNx, but a non-zero exit is an error (with the tail of the output). */
export async function runNxOk(ws, args, opts) {
  const r = await runNx(ws, args, opts);
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

function cpuTimes() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  return { idle, total: line.reduce((a, b) => a + b, 0) };
}

/** Share of all cores busy over the next `ms` (0..1), from /proc/stat; null where there is none. */
export async function cpuBusy(ms = 400) {
  if (!existsSync('/proc/stat')) return null;
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : null;
}

/**
 * Before a timed sample: wait (up to `maxSec`, and within what is left of a shared budget)
 * until other processes leave the cores mostly idle. Returns the busy share last seen.
 */
export async function settle(budget, { maxSec = 6, quiet = 0.25 } = {}) {
  const t0 = Date.now();
  const waited = () => (Date.now() - t0) / 1000;
  let busy = await cpuBusy();
  while (busy !== null && busy > quiet && waited() < maxSec && budget.leftSec - waited() > 0) busy = await cpuBusy(1000);
  budget.leftSec -= waited();
  return busy;
}
