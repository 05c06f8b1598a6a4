/**
 * The bad-input corpus (cases.ts) through the `campaign` command (and a few through nx): each
 * case is refused, located, with a fix, no stack trace, quickly, and touches nothing.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyWorkspace, describeSlurm, nxEnv, removeWorkspace, repoRoot, stripAnsi } from '../workspace';
import { CASES, CATEGORIES, GOOD_COMMANDS, type BadCase } from './cases';
import { applyEdit } from './edits';

/** How long a refusal may take: `campaign` (a node start and a load) and nx (its graph too). */
const LIMIT_MS = { campaign: 10_000, nx: 30_000 };

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeWorkspace));

interface Result {
  code: number | null;
  out: string;
  ms: number;
  killed: boolean;
}

function runCommand(ws: string, args: string[]): Promise<Result> {
  const viaNx = args[0] === 'nx';
  const bin = join(repoRoot, 'node_modules', '.bin', viaNx ? 'nx' : 'campaign');
  const limit = viaNx ? LIMIT_MS.nx : LIMIT_MS.campaign;
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(bin, viaNx ? args.slice(1) : args, { cwd: ws, env: { ...nxEnv }, detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, limit);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: stripAnsi(out), ms: Date.now() - started, killed });
    });
  });
}

/** Every file under `root` (not following links; node_modules, .git and Nx's own .nx left out) -> size, mtime, content hash. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!rel && ['node_modules', '.git', '.nx'].includes(e.name)) continue;
      const path = join(dir, e.name);
      const key = rel + e.name;
      if (e.isDirectory()) {
        files.set(`${key}/`, 'folder');
        walk(path, `${key}/`);
      } else {
        const st = lstatSync(path);
        const hash = e.isFile() ? createHash('sha1').update(readFileSync(path)).digest('hex') : 'link';
        files.set(key, `${st.size} ${st.mtimeMs} ${hash}`);
      }
    }
  };
  walk(root, '');
  return files;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of after) if (!before.has(k)) out.push(`created ${k}`);
  else if (before.get(k) !== v) out.push(`changed ${k}`);
  for (const k of before.keys()) if (!after.has(k)) out.push(`deleted ${k}`);
  return out;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The problem, as `<file>:<line> (<key>): <message>` (or `<file>: <message>` for a mistake in
 * the whole file) holding `mentions`, and a `fix:` line after it. Returns what is missing.
 */
function located(out: string, c: BadCase): string | undefined {
  const lines = out.split('\n').map((l) => l.trim().replace(/^error: /, ''));
  const at = new RegExp(`^${esc(c.file)}(?::\\d+)?(?: \\(.*\\))?: \\S`);
  const hits = lines.map((l, i) => [l, i] as const).filter(([l]) => at.test(l));
  if (!hits.length) return `no line starts with "${c.file}:<line> (<key>): " (line, key or both may be absent)`;
  const mentioned = hits.filter(([l]) => (typeof c.mentions === 'string' ? l.includes(c.mentions) : c.mentions.test(l)));
  if (!mentioned.length) return `no located line mentions ${c.mentions}`;
  if (!mentioned.some(([, i]) => /^fix: \S/.test(lines[i + 1] ?? ''))) return 'no "fix:" line after the located problem';
  return undefined;
}

/** Places a file outside the workspace could land, from the `..` paths of the cases. */
const escapes = (ws: string) => [join(ws, '..', 'escape.csv'), join(ws, '..', '..', 'escape.csv'), join(tmpdir(), 'escape.csv'), '/tmp/escape.csv', '/tmp/x/evil', join(ws, '..', 'x', 'evil')];

async function check(c: BadCase, backend?: 'slurm'): Promise<void> {
  const ws = copyWorkspace();
  const canary = mkdtempSync(join(tmpdir(), 'nxc-canary-'));
  dirs.push(ws, canary);
  writeFileSync(join(canary, 'keep.txt'), 'a file the run does not own\n');
  const pwned = join(canary, `pwned-${c.id}`);
  for (const e of c.edits) applyEdit(ws, e, { pwned, canary });
  const before = { ws: snapshot(ws), canary: snapshot(canary) };
  const r = await runCommand(ws, backend ? [...c.command, `--backend=${backend}`] : c.command);
  const detail = `${c.id} (${c.command.join(' ')}):\n${r.out.slice(0, 4000)}`;
  expect(r.killed, `still running after ${r.ms} ms: ${detail}`).toBe(false);
  expect(r.code, `exit code: ${detail}`).not.toBe(0);
  expect(r.out, `a stack trace: ${detail}`).not.toMatch(/^\s+at .*[(:]\d+|^\s+at [\w.<>]+ \(/m);
  expect(r.out, `a JavaScript error: ${detail}`).not.toMatch(/\b(TypeError|ReferenceError|RangeError|SyntaxError|SqliteError|YAMLException)\b|Maximum call stack|heap out of memory|Unhandled/);
  expect(r.out, `/etc/passwd echoed: ${detail}`).not.toMatch(/root:x:0:0/);
  const problem = located(r.out, c);
  expect(problem, `${problem}: ${detail}`).toBeUndefined();
  expect(existsSync(pwned), `a config value ran as a command: ${detail}`).toBe(false);
  expect(readdirSync(ws).filter((f) => /pwned/.test(f))).toEqual([]);
  expect(escapes(ws).filter(existsSync), `written outside the workspace: ${detail}`).toEqual([]);
  expect(changes(before.ws, snapshot(ws)), `the workspace changed: ${detail}`).toEqual([]);
  expect(changes(before.canary, snapshot(canary)), `the canary folder changed: ${detail}`).toEqual([]);
  rmSync(ws, { recursive: true, force: true });
  rmSync(canary, { recursive: true, force: true });
}

describe('the bad-input corpus', () => {
  it('has at least 150 cases, in every category, with distinct ids', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(150);
    for (const category of CATEGORIES) expect(CASES.filter((c) => c.category === category).length, category).toBeGreaterThanOrEqual(5);
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
  });

  it('varies examples that are good: each command succeeds on the shipped files', async () => {
    const ws = copyWorkspace();
    dirs.push(ws);
    for (const command of GOOD_COMMANDS) {
      const r = await runCommand(ws, command);
      expect(r.code, `${command.join(' ')}:\n${r.out}`).toBe(0);
    }
  });
});

for (const category of CATEGORIES) {
  // Three at a time, but the exhaustion cases one at a time: each is a large input at its limit.
  (category === 'exhaustion' ? describe : describe.concurrent)(`bad inputs: ${category}`, () => {
    for (const c of CASES.filter((x) => x.category === category)) it(c.id, () => check(c), 60_000);
  });
}

/**
 * Injection and template cases as a run started on the SLURM backend (the test SLURM) meets them: nx
 * run-many of the case's run, on the site the case names. One of each kind of value.
 */
const THROUGH_SLURM = ['executable-0', 'executable-1', 'executable-variable', 'stage-name-0', 'env-name-0', 'alias-1', 'partition-0', 'partition-newline', 'account-1', 'query-attach', 'wafer-name-from-obsdb', 'site-unknown-field', 'site-no-run-stage', 'stage-unclosed-block'];
function viaSlurm(c: BadCase): BadCase {
  const [, file, ...rest] = c.command;
  const run = file.replace(/^runs\//, '').replace(/\.(yaml|toml)$/, '');
  const site = rest.includes('--site') ? rest[rest.indexOf('--site') + 1] : undefined;
  return {
    ...c,
    id: `${c.id}-slurm`,
    edits: [...c.edits, ...(site ? [{ file, append: `site: ${site}\n` }] : [])],
    command: ['nx', 'run-many', '-t', 'stage', `--projects=tag:run:${run}`, '--outputStyle=static'],
  };
}

describeSlurm('bad inputs: injection, through the SLURM backend', () => {
  it('has each case it names', () => expect(THROUGH_SLURM.filter((id) => !CASES.some((c) => c.id === id))).toEqual([]));
  for (const id of THROUGH_SLURM) {
    const c = CASES.find((x) => x.id === id);
    if (c) it(id, () => check(viaSlurm(c), 'slurm'), 60_000);
  }
});
