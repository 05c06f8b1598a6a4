import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, inject, it, type TestFunction } from 'vitest';
import { NEEDS_BROWSER, NEEDS_SLURM, probeChromium, probeSlurm, type BrowserStatus, type SlurmStatus } from './global-setup';

export const repoRoot = resolve(__dirname, '..');

/** Whether the SLURM tests can run here, as test/global-setup.ts found (or started) it. */
export const slurm: SlurmStatus = inject('slurm') ?? probeSlurm();
const ci = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const needsSlurm = () => {
  throw new Error(`no SLURM here (${slurm.why}), and CI needs the SLURM tests: start it with tools/slurm/start.sh as root (.ci/run does)`);
};

/** A suite against the real SLURM: run where there is one, a failure under CI, else skipped. */
export function describeSlurm(name: string, fn: () => void): void {
  if (slurm.available) describe.sequential(name, fn);
  else if (ci) describe(name, () => it('has a SLURM to run against', needsSlurm));
  else describe.skip(`${name}${NEEDS_SLURM}`, fn);
}

/**
 * One test against the real SLURM in a suite that otherwise needs none: as describeSlurm.
 * `sequential`: one of a suite's tests that run in order (it.sequential), where the suite runs alongside others (describe.concurrent).
 */
export function itSlurm(name: string, fn: TestFunction, timeout?: number, o: { sequential?: boolean } = {}): void {
  const test = o.sequential ? it.sequential : it;
  if (slurm.available) test(name, fn, timeout);
  else if (ci) test(name, needsSlurm);
  else it.skip(`${name}${NEEDS_SLURM}`, fn, timeout);
}

/** Debian's chromium for the browser tests, as test/global-setup.ts found (or installed) it. */
export const chromiumStatus: BrowserStatus = inject('chromium') ?? probeChromium();

/** A suite in a real browser: run where chromium is, a failure under CI, else skipped. */
export function describeBrowser(name: string, fn: () => void): void {
  if (chromiumStatus.path) describe.sequential(name, fn);
  else if (ci) describe(name, () => it('has a chromium to run in', () => {
    throw new Error(`no chromium here (${chromiumStatus.why}), and CI needs the browser tests: tools/apt-install.sh chromium as root (.ci/run does)`);
  }));
  else describe.skip(`${name}${NEEDS_BROWSER}`, fn);
}

/**
 * A throw-away workspace whose sites.yaml has the site `testslurm` (backend slurm): the real
 * single-node SLURM of tools/slurm/start.sh. Tests that use that site are describeSlurm or itSlurm.
 */
export function slurmWorkspace(): string {
  const dir = copyWorkspace();
  writeFile(dir, 'sites.yaml', `sites:
  testslurm:
    backend: slurm
    partition: debug
    node_classes:
      - {name: vm, count: 1, cores: 16, memory: 8000M}
`);
  return dir;
}

/** A socm stage that needs about 150 MB and asks for 60M: out of memory where memory is enforced (the test SLURM's cgroups). */
export const HUNGRY_STAGE = `  hungry:
    executable: python3
    script-args: ["-c", "x = b'x' * (150 * 1024 * 1024); open('out/hungry.txt', 'w').write(str(len(x)))"]
    depends: null
    outputs: [out/hungry.txt]
    resources: {memory: 60M, runtime: 1m}
`;

/** A throw-away copy of this workspace's pipelines, runs and data, sharing its node_modules. */
export function copyWorkspace(extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-e2e-'));
  for (const entry of ['package.json', 'nx.json', 'pipelines', 'runs', 'data', ...extra]) {
    cpSync(join(repoRoot, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

export function removeWorkspace(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * PATH with python3 as pyenv's shim would run it, found without the shim, where python3 is one:
 * the shim (a bash script) forks some thirty processes each time to pick the version, more than
 * most of the tests' Python stages (the Rubin stand-ins, ceci, socm) cost themselves. The same
 * interpreter runs (the one `pyenv which python3` names); elsewhere PATH is left as it is.
 */
function pathPastPyenvShim(path = process.env.PATH ?? ''): string {
  const found = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8', env: { ...process.env, PATH: path } }).stdout.trim();
  if (!found.includes('/.pyenv/shims/')) return path;
  // Asked from a folder of no project (no .python-version), as a test workspace is.
  const real = spawnSync('pyenv', ['which', 'python3'], { encoding: 'utf8', cwd: tmpdir() });
  const python = real.status === 0 ? real.stdout.trim() : '';
  if (!python.startsWith('/')) return path;
  const dir = join(tmpdir(), `nx-campaign-e2e-python-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const link = join(dir, 'python3');
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== python) {
    const next = `${link}.${process.pid}`;
    rmSync(next, { force: true });
    symlinkSync(python, next);
    renameSync(next, link);
  }
  return `${dir}:${path}`;
}

/** What every nx and campaign process of the tests runs with (undefined: removed). */
export const nxEnv: Record<string, string | undefined> = { ...process.env, PATH: pathPastPyenvShim(), NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: undefined, CI: 'true' };

/** Run the workspace's nx; returns exit code and combined output. */
export function nx(dir: string, args: string[], env: Record<string, string | undefined> = {}): SpawnSyncReturns<string> & { out: string } {
  const r = spawnSync(join(repoRoot, 'node_modules', '.bin', 'nx'), [...args], { cwd: dir, encoding: 'utf8', env: { ...nxEnv, ...env } });
  // Nx colours its output when CI is set, even into a pipe: `out` is plain text.
  return Object.assign(r, { out: stripAnsi(`${r.stdout}${r.stderr}`) });
}

/** What `nx`, `runStages` and `campaign` return, from a child that did not block the test file. */
export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr, plain text (as `nx` gives it). */
  out: string;
}

/** `bin args` in `dir` without blocking the test file's event loop, so concurrent tests (describe.concurrent) overlap. */
function spawnAsync(bin: string, args: string[], dir: string, env: Record<string, string | undefined>): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(bin, args, { cwd: dir, env: { ...nxEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status, signal) => done({ status, signal, stdout, stderr, out: stripAnsi(`${stdout}${stderr}`) }));
  });
}

/** `nx`, for a test that runs concurrently with others: awaited, it gives what `nx` returns. */
export function nxAsync(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return spawnAsync(join(repoRoot, 'node_modules', '.bin', 'nx'), args, dir, env);
}

/** `runStages`, for a test that runs concurrently with others. */
export function runStagesAsync(dir: string, run: string, extra: string[] = [], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return nxAsync(dir, ['run-many', '-t', 'stage', `--projects=tag:run:${run}`, '--outputStyle=static', ...extra], env);
}

/** `campaign`, for a test that runs concurrently with others. */
export function campaignAsync(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return spawnAsync(join(repoRoot, 'node_modules', '.bin', 'campaign'), args, dir, env);
}

/** Stages nx ran (not restored from its cache) in a static-output log. */
export function executedStages(out: string): string[] {
  // A task run on its own prints its "> nx run" header twice (before and after its output): count it once.
  const ran = [...stripAnsi(out).matchAll(/^> nx run ([^:\s]+):stage(?!.*(?:existing outputs match the cache|local cache|remote cache))/gm)].map((m) => m[1]);
  return [...new Set(ran)].sort();
}

/** Stage projects nx restored from its cache in a static-output log. */
export function cachedStages(out: string): string[] {
  const hit = [...stripAnsi(out).matchAll(/^> nx run ([^:\s]+):stage.*(?:existing outputs match the cache|local cache|remote cache)/gm)].map((m) => m[1]);
  return [...new Set(hit)].sort();
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

/** Every stage of a run, as a user runs it: `nx run-many -t stage --projects=tag:run:<run>`. */
export function runStages(dir: string, run: string, extra: string[] = [], env: Record<string, string | undefined> = {}): ReturnType<typeof nx> {
  return nx(dir, ['run-many', '-t', 'stage', `--projects=tag:run:${run}`, '--outputStyle=static', ...extra], env);
}

/** The `campaign` bin of the nx-campaign package, started in `dir`. */
export function campaign(dir: string, args: string[], env: Record<string, string | undefined> = {}): SpawnSyncReturns<string> & { out: string } {
  const r = spawnSync(join(repoRoot, 'node_modules', '.bin', 'campaign'), args, { cwd: dir, encoding: 'utf8', env: { ...nxEnv, ...env } });
  return Object.assign(r, { out: stripAnsi(`${r.stdout}${r.stderr}`) });
}

/** Write a workspace-relative file in a copy, creating its folder. */
export function writeFile(dir: string, file: string, text: string): void {
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), text);
}

export function readFile(dir: string, file: string): string {
  return readFileSync(join(dir, file), 'utf8');
}

/** Total size in bytes of the files under `path` (symlinks not followed); 0 if it does not exist. */
export function treeBytes(path: string): number {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, entry) => sum + treeBytes(join(path, entry)), 0);
}

/** Files under `path`, relative to it, sorted. */
export function listFiles(path: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(path, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`])).sort();
}

/** nx run-many of one run in its own process group, as a terminal runs it (Ctrl-C reaches the whole group). */
export function startNx(dir: string, run: string, extra: string[] = [], env: Record<string, string | undefined> = {}) {
  const child = spawn(join(repoRoot, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'stage', `--projects=tag:run:${run}`, '--outputStyle=static', ...extra], { cwd: dir, env: { ...nxEnv, ...env }, detached: true });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const signal = (s: NodeJS.Signals) => {
    process.kill(-child.pid!, s);
    return exited;
  };
  return {
    out: () => stripAnsi(out),
    exited,
    /** Ctrl-C: SIGINT to the process group; resolves with nx's exit code. */
    interrupt: () => signal('SIGINT'),
    /** The process group killed outright, as by a lost session or an OOM killer. */
    kill: () => signal('SIGKILL'),
  };
}

/**
 * The jobs among `ids` (as [id, state]) that are not cancelled: SLURM must list each as CANCELLED
 * now, or as COMPLETING now and CANCELLED once that ends (within 30 s): a cancelled job that was
 * running is COMPLETING for a moment, while SLURM kills its processes. A job pending or running
 * now is returned, whatever becomes of it later. [] when every one is cancelled.
 */
export async function notCancelled(ids: string[]): Promise<string[][]> {
  const states = () =>
    execFileSync('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('|'));
  let jobs = states();
  const missing = ids.filter((id) => !jobs.some(([j]) => j === id));
  if (missing.length) throw new Error(`squeue does not list job ${missing.join(', ')}`);
  const now = jobs.filter(([, state]) => state !== 'CANCELLED' && state !== 'COMPLETING');
  if (now.length) return now;
  for (const deadline = Date.now() + 30_000; jobs.some(([, state]) => state === 'COMPLETING') && Date.now() < deadline; jobs = states()) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return jobs.filter(([, state]) => state !== 'CANCELLED');
}

type InlineOptions = { depends?: string[]; inputs?: string[]; outputs?: string[] };
/** A socm-DAG stage running `<executable> -c code` in the run's output folder (100M, 1m). */
function inlineStage(executable: string, name: string, code: string, o: InlineOptions): string {
  return [
    `  ${name}:`,
    `    executable: ${executable}`,
    `    script-args: ["-c", ${JSON.stringify(code)}]`,
    `    depends: ${o.depends ? `[${o.depends.join(', ')}]` : 'null'}`,
    ...(o.inputs ? [`    inputs: [${o.inputs.join(', ')}]`] : []),
    ...(o.outputs ? [`    outputs: [${o.outputs.join(', ')}]`] : []),
    '    resources: {memory: 100M, runtime: 1m}',
    '',
  ].join('\n');
}
export const pythonStage = (name: string, code: string, o: InlineOptions = {}) => inlineStage('python3', name, code, o);
export const shStage = (name: string, script: string, o: InlineOptions = {}) => inlineStage('sh', name, script, o);

/** Pipeline `name` of these stages and run `name` of it (its own folders under results/). */
export function addRun(dir: string, name: string, stages: string[]): void {
  writeFile(dir, `pipelines/${name}/pipeline.yaml`, `stages:\n${stages.join('')}`);
  writeFile(dir, `runs/${name}.yaml`, `pipelines: ${name}\noutput_dir: results/${name}/outputs\nlog_dir: results/${name}/logs\n`);
}
