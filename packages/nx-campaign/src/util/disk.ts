import { existsSync, readFileSync, realpathSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Below this many bytes available to unprivileged users a file system counts as full. An absolute
 * floor, not a share: 0.1% of a 1 PB Lustre is 1 TB, which is not full; 1 MiB is less than a log.
 */
export const FULL_BELOW_BYTES = 1024 * 1024;

/** How a full file system's message starts (retries recognise it: never retried). */
export const FILE_SYSTEM_FULL = 'file system full: ';

/** The mount point holding `path` (the longest mount that contains it) and its device, from /proc/self/mountinfo. */
function mountOf(path: string): { mount: string; device: string } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let best: { mount: string; device: string } | undefined;
  for (const line of text.split('\n')) {
    // id parent major:minor root mount options [optional...] - type source super-options
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 5 || dash < 0) continue;
    const mount = f[4].replace(/\\040/g, ' ');
    const inside = mount === '/' || path === mount || path.startsWith(`${mount}/`);
    if (inside && (!best || mount.length >= best.mount.length)) best = { mount, device: f[dash + 2] ?? f[2] };
  }
  return best;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/**
 * Whether one of `dirs` (or, for one not made yet, its nearest existing parent) is on a file
 * system with less than FULL_BELOW_BYTES available: the message saying so, or undefined.
 */
export function fileSystemFull(dirs: string[]): string | undefined {
  for (const d of [...new Set(dirs.map((x) => resolve(x)))]) {
    let dir = d;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    let st;
    try {
      st = statfsSync(dir);
    } catch {
      continue;
    }
    const free = st.bavail * st.bsize;
    if (free >= FULL_BELOW_BYTES) continue;
    const real = realpathSync(dir);
    const m = mountOf(real);
    const on = m ? (m.device && m.device !== 'none' && m.device !== m.mount ? `${m.mount} (${m.device})` : m.mount) : 'its file system';
    return `${FILE_SYSTEM_FULL}${d} is on ${on} with ${bytes(free)} free of ${bytes(st.blocks * st.bsize)}\n  fix: free space there and run again`;
  }
  return undefined;
}
