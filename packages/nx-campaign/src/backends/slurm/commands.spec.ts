import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec } from './commands';

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
