// Helpers for tools/bench-slurm.mjs: throw-away workspaces whose run goes to the local SLURM,
// PATH shims that log every squeue / sacct call, an nx runner that stamps each output line
// as it arrives, the stages' exit files, and a timing of bare sbatch calls.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nxEnv } from './measure.mjs';
import { newWorkspace } from './workspaces.mjs';

/** Tiny resources: every stage fits 16 at a time on the test node many times over. */
export const TINY = { ranks: 1, threads: 1, memory: '10M', runtime: '1m' };

/** The site the run names (as in test/slurm.e2e.spec.ts). */
export const SITES_YAML = `sites:
  testslurm:
    backend: slurm
    partition: debug
    node_classes:
      - {name: vm, count: 1, cores: 16, memory: 8000M}
`;

/** Wall-clock now as epoch milliseconds, sub-millisecond resolution. */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * A layered DAG of `total` stages: `root` -> `layers` layers -> `final`. Stage i of layer l
 * (l >= 1) depends on stages i and i+1 (mod width) of layer l-1, so most jobs carry an
 * afterok on two jobs; layer 0 depends on root, `final` on the whole last layer. Half the
 * stages run `true`, half `sleep 0`. No declared outputs: only SLURM's dependencies order them.
 */
export function layeredDag(total, layers = 5) {
  if (total < layers + 2) throw new Error(`layeredDag: ${total} stages cannot make ${layers} layers`);
  const middle = total - 2;
  const width = Math.ceil(middle / layers);
  const w = String(width - 1).length;
  const name = (l, i) => `l${l}_${String(i).padStart(w, '0')}`;
  const stages = [{ name: 'root', command: ['true'], depends: [] }];
  const sizes = [];
  for (let l = 0, left = middle; l < layers; l++) {
    const n = Math.min(width, left - (layers - 1 - l)); // every layer gets at least one stage
    sizes.push(n);
    left -= n;
  }
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < sizes[l]; i++) {
      const prev = sizes[l - 1];
      const depends = l === 0 ? ['root'] : [...new Set([name(l - 1, i % prev), name(l - 1, (i + 1) % prev)])];
      stages.push({ name: name(l, i), command: stages.length % 2 ? ['sleep', '0'] : ['true'], depends });
    }
  }
  const last = layers - 1;
  stages.push({ name: 'final', command: ['true'], depends: Array.from({ length: sizes[last] }, (_, i) => name(last, i)) });
  return stages;
}

/** pipelines/<name>/pipeline.yaml in the socm DAG dialect, with TINY resources. */
export function socmYaml(stages, resources = TINY) {
  const lines = ['stages:'];
  for (const s of stages) {
    lines.push(`  ${s.name}:`);
    lines.push(`    executable: ${JSON.stringify(s.command[0])}`);
    if (s.command.length > 1) lines.push(`    script-args: [${s.command.slice(1).map((a) => JSON.stringify(a)).join(', ')}]`);
    lines.push(`    depends: ${s.depends.length ? `[${s.depends.join(', ')}]` : 'null'}`);
    lines.push(`    resources: {ranks: ${resources.ranks}, threads: ${resources.threads}, memory: ${resources.memory}, runtime: ${resources.runtime}}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A workspace with sites.yaml (site testslurm) and runs/<run>.yaml of pipeline <run> on it. */
export function slurmWorkspace(repoRoot, label, run, stages) {
  const ws = newWorkspace(repoRoot, label, { plugin: true });
  writeFileSync(join(ws, 'sites.yaml'), SITES_YAML);
  mkdirSync(join(ws, 'pipelines', run), { recursive: true });
  writeFileSync(join(ws, 'pipelines', run, 'pipeline.yaml'), socmYaml(stages));
  mkdirSync(join(ws, 'runs'), { recursive: true });
  writeFileSync(join(ws, 'runs', `${run}.yaml`), `pipelines: ${run}\nsite: testslurm\n`);
  return { ws, run, logDir: join(ws, 'results', run, 'logs') };
}

/**
 * A folder of shims, one per command in `commands`: each appends "<epoch seconds.micro> <name>"
 * to `logFile` (bash's $EPOCHREALTIME, no extra process) and execs the real binary, found on
 * PATH without the shim folder. Put the folder first on PATH.
 */
export function makeShims(commands) {
  const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-shims-'));
  const logFile = join(dir, 'calls.log');
  writeFileSync(logFile, '');
  const real = {};
  for (const c of commands) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    real[c] = r.stdout.trim();
    if (r.status !== 0 || !real[c].startsWith('/')) throw new Error(`${c} is not on PATH: is SLURM installed (tools/slurm/start.sh)?`);
    const shim = join(dir, c);
    writeFileSync(shim, `#!/bin/bash\nprintf '%s %s\\n' "$EPOCHREALTIME" ${c} >> ${JSON.stringify(logFile)}\nexec ${JSON.stringify(real[c])} "$@"\n`);
    chmodSync(shim, 0o755);
  }
  return { dir, logFile, real };
}

/** The shim log as [{ t: epoch ms, cmd }]. */
export function readShimLog(logFile) {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [t, cmd] = l.split(' ');
      return { t: Number(t.replace(',', '.')) * 1000, cmd };
    });
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/**
 * Run `nx ARGS` in `ws` and stamp every output line with the (epoch ms) time it was seen.
 * Output goes to a file polled every 2 ms (see runNx in measure.mjs: a pipe would lose Nx's
 * last lines at process.exit); a line's stamp is the poll that read its newline.
 * `handle.done` resolves to { status, t0, tExit, lines: [{ t, text }], out }. The child is its
 * own process group (a Ctrl-C of ours does not reach it); `handle.interrupt()` sends nx SIGINT
 * (the backend then cancels its jobs).
 */
export function runNxStamped(ws, args, { env = {}, timeoutSec = 600, onLine } = {}) {
  const bin = join(ws, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
  const dir = mkdtempSync(join(tmpdir(), 'nx-campaign-bench-out-'));
  const fd = openSync(join(dir, 'out.txt'), 'w+');
  let child;
  const handle = {
    interrupt: () => {
      try {
        // nx's own pid, not its group: a group-wide SIGINT (a terminal's Ctrl-C) also kills
        // the sbatch or squeue in flight, and the backend then fails without cancelling its jobs.
        if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGINT');
      } catch {
        /* already gone */
      }
    },
  };
  handle.done = new Promise((resolvePromise, reject) => {
    const t0 = nowMs();
    child = spawn(process.execPath, [bin, ...args], { cwd: ws, env: nxEnv(env), stdio: ['ignore', fd, fd], detached: true });
    const lines = [];
    let partial = '';
    let offset = 0;
    const buf = Buffer.alloc(1 << 16);
    const poll = () => {
      const now = nowMs();
      let n;
      let chunk = '';
      while ((n = readSync(fd, buf, 0, buf.length, offset)) > 0) {
        chunk += buf.toString('utf8', 0, n);
        offset += n;
      }
      if (!chunk) return;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const p of parts) {
        const line = { t: now, text: p.replace(ANSI, '') };
        lines.push(line);
        onLine?.(line);
      }
    };
    const ticker = setInterval(poll, 2);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      handle.interrupt();
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 30_000).unref();
    }, timeoutSec * 1000);
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
      const tExit = nowMs();
      poll();
      if (partial) lines.push({ t: tExit, text: partial.replace(ANSI, '') });
      finish();
      resolvePromise({ status: timedOut ? `timed out after ${timeoutSec} s` : signal ? `killed by ${signal}` : status, t0, tExit, lines, out: lines.map((l) => l.text).join('\n') });
    });
  });
  return handle;
}

/** Every `<logDir>/<stage>.exit`: { stage, code, start, end } (epoch seconds, 1 s resolution). */
export function readExitFiles(logDir) {
  if (!existsSync(logDir)) return [];
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.exit'))
    .map((f) => {
      const [code, start, end] = readFileSync(join(logDir, f), 'utf8').trim().split(/\s+/).map(Number);
      return { stage: f.slice(0, -'.exit'.length), code, start, end };
    });
}

const execP = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 127) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });

/**
 * Submit `count` held jobs (`--hold`: they never run) from Node with execFile, as the backend
 * does, `concurrency` at a time; each after the previous one (afterok) like a chain, with
 * --kill-on-invalid-dep and --nice as the backend passes them. Cancels them all afterwards.
 * Resolves to { perCallMs: [...], wallMs, ids }.
 */
export async function timeSbatch(count, { concurrency = 1, dir } = {}) {
  const script = join(dir, 'held.sbatch');
  writeFileSync(script, `#!/bin/bash\n#SBATCH --job-name=nx-campaign-bench-held\n#SBATCH --mem=10M\n#SBATCH --time=0-00:01:00\n#SBATCH --output=/dev/null\ntrue\n`, { mode: 0o755 });
  const ids = [];
  const perCallMs = [];
  let failure;
  const t0 = nowMs();
  let next = 0;
  const worker = async () => {
    while (next < count && !failure) {
      next++;
      const args = ['--parsable', '--hold'];
      const prev = ids.at(-1);
      if (prev) args.push(`--dependency=afterok:${prev}`, '--kill-on-invalid-dep=yes');
      args.push('--nice=0', script);
      const a = nowMs();
      const r = await execP('sbatch', args);
      perCallMs.push(nowMs() - a);
      if (r.code !== 0) failure = `sbatch exited ${r.code}: ${r.stderr.trim()}`;
      else ids.push(r.stdout.trim().split(';')[0]);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    if (ids.length) await execP('scancel', ids);
  }
  if (failure) throw new Error(failure);
  return { perCallMs, wallMs: nowMs() - t0, ids };
}

/** Time `count` sequential execFile calls of `cmd args` (process spawn cost from Node). */
export async function timeExec(cmd, args, count) {
  const t0 = nowMs();
  for (let i = 0; i < count; i++) {
    const r = await execP(cmd, args);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  }
  return (nowMs() - t0) / count;
}

/** Jobs among `ids` SLURM still lists as pending or running. */
export function stillQueued(ids) {
  if (!ids.length) return [];
  const r = spawnSync('squeue', ['--noheader', '--states=PENDING,RUNNING,CONFIGURING,COMPLETING', `--jobs=${ids.join(',')}`, '--format=%i'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : [];
}

export function scancelSync(ids) {
  if (ids.length) spawnSync('scancel', ids, { encoding: 'utf8' });
}
