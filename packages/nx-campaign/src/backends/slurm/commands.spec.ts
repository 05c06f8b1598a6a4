import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec, freePartitions } from './commands';

describe('exec: how SLURM commands are started', () => {
  it('passes arguments as they are and returns exit code, stdout and stderr', async () => {
    const r = await exec('sh', ['-c', 'printf "%s|" "$@"; echo oops >&2; exit 3', 'sh', 'a b', '$(touch pwned)', '', "it's"]);
    expect(r).toEqual({ code: 3, stdout: "a b|$(touch pwned)||it's|", stderr: 'oops\n' });
  });

  it('reports a command that does not exist as exit code 127', async () => {
    const r = await exec('no-such-slurm-command', []);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/not found|ENOENT/);
  });

  // Nx stops its batch worker by signalling the worker's descendants (by parent pid, whatever their
  // process group) before the worker: an sbatch or scancel killed there loses a job id or some of
  // its cancellations.
  it.each(['INT', 'TERM', 'HUP'])('runs to its end when SIG%s reaches it', async (sig) => {
    const r = await exec('sh', ['-c', `kill -${sig} $$; kill -${sig} $$; echo still running`]);
    expect(r).toEqual({ code: 0, stdout: 'still running\n', stderr: '' });
  });

  it('never starts a command again once it ran, even when it was killed (an sbatch would submit twice)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exec-spec-'));
    try {
      const r = await exec('sh', ['-c', 'echo ran >> "$0"; kill -KILL $$', join(dir, 'runs')]);
      expect(r.code).toBe(128);
      expect(r.stderr).toBe('killed by SIGKILL');
      expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('ran\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('freePartitions', () => {
  it('sums idle and mixed nodes of partitions that are up, leaving out the job\'s own', async () => {
    // sinfo's %R|%a|%T|%D: one line per partition and node state.
    const lines = ['debug|up|drained|2', 'spare|up|idle|3', 'spare|up|mixed|1', 'spare|up|allocated|4', 'gpu|down|idle|2', 'long|up|down*|1', 'debug|up|idle|1'];
    const seen: string[][] = [];
    const free = await freePartitions(['debug'], async (cmd, args) => {
      seen.push([cmd, ...args]);
      return { code: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
    });
    expect([...free]).toEqual([['spare', 4]]);
    expect(seen).toEqual([['sinfo', '--noheader', '--format=%R|%a|%T|%D']]);
  });
});
