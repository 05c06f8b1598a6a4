import { spawnSync } from 'node:child_process';
import { posix } from 'node:path';
import { CampaignError } from '../format/errors';
import { formatDuration, parseRuntimeSeconds, slurmTime } from '../format/quantities';
import { loadRun } from '../config/run';
import { shellLine } from '../model/command';
import { resolvePlanSettings } from '../planning/plan-run';
import { loadSites } from '../sites/load';

export interface QuickTestOptions {
  nodes?: number;
  time?: string;
  qos?: string;
  partition?: string;
  account?: string;
  /** Print the command instead of running it. */
  print?: boolean;
}

const DEFAULT_SECONDS = 30 * 60;

/**
 * `salloc` for a small allocation (whole nodes) on the run's site, running the run inside it
 * with the allocation backend: lbg's "quick test" script, planned and tracked.
 */
export function quickTestCommand(wsRoot: string, runFile: string, nxBin: string, o: QuickTestOptions): string[] {
  const run = loadRun(wsRoot, posix.normalize(runFile));
  const { site: planned } = resolvePlanSettings(wsRoot, run, loadSites(wsRoot));
  // A run planned for this machine still gets a plain allocation on the cluster it is started from.
  const site = planned.backend === 'slurm' ? planned : { ...planned, qos: [], partition: undefined, account: undefined };
  let seconds = DEFAULT_SECONDS;
  if (o.time !== undefined) {
    const t = parseRuntimeSeconds(o.time);
    if ('error' in t) throw new CampaignError(`quick-test --time: ${t.error}\n  fix: ${t.fix}`);
    seconds = t.value;
  }
  // The site's shortest QoS is its debug/test queue.
  const qos = o.qos ?? [...site.qos].sort((a, b) => a.maxWalltimeSeconds - b.maxWalltimeSeconds)[0]?.name;
  const limit = site.qos.find((q) => q.name === qos)?.maxWalltimeSeconds;
  if (o.time === undefined && limit !== undefined) seconds = Math.min(seconds, limit);
  else if (limit !== undefined && seconds > limit) throw new CampaignError(`quick-test --time ${formatDuration(seconds)} is more than QoS ${qos} of ${site.name} allows (${formatDuration(limit)})`);
  const partition = o.partition ?? site.partition;
  const account = o.account ?? site.account;
  return [
    'salloc',
    `--nodes=${o.nodes ?? 1}`,
    '--exclusive',
    '--mem=0',
    `--time=${slurmTime(seconds)}`,
    `--job-name=${run.name}.quick-test`,
    ...(partition ? [`--partition=${partition}`] : []),
    ...(qos ? [`--qos=${qos}`] : []),
    ...(account ? [`--account=${account}`] : []),
    process.execPath,
    nxBin,
    'run-many',
    '--targets=stage',
    `--projects=tag:run:${run.name}`,
    '--backend=allocation',
    '--outputStyle=static',
  ];
}

export function quickTest(wsRoot: string, runFile: string, o: QuickTestOptions): number {
  let nxBin: string;
  try {
    nxBin = require.resolve('nx/bin/nx.js', { paths: [wsRoot] });
  } catch {
    throw new CampaignError(`nx is not installed in ${wsRoot}\n  fix: npm ci`);
  }
  const argv = quickTestCommand(wsRoot, runFile, nxBin, o);
  if (o.print) {
    process.stdout.write(`${shellLine(argv)}\n`);
    return 0;
  }
  const r = spawnSync(argv[0], argv.slice(1), { cwd: wsRoot, stdio: 'inherit' });
  if (r.error) throw new CampaignError(`could not start salloc: ${r.error.message}\n  fix: run this on a SLURM login node`);
  return r.status ?? 1;
}
