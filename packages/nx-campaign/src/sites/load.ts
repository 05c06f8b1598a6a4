import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, configError, type Location, type Problem } from '../format/errors';
import { memorySchema, runtimeSchema } from '../format/resources';
import { retriesSchema } from '../format/retries';
import { validate } from '../format/validate';
import { formatKeyPath, readYamlFile } from '../format/yaml-file';
import { SAFE_NAME } from '../model/run';
import { builtinSites } from './builtins';
import { UNLIMITED, type Site } from './site';
import { BACKENDS } from '../model/run';

export const SITES_FILE = 'sites.yaml';

const count = z.number().int().positive();

const nodeClassSchema = z.strictObject({
  name: z.string().regex(SAFE_NAME, 'use letters, digits, _ . and -'),
  // Bounds beyond the largest machines, which keep a typo from making a plan of a billion nodes.
  count: count.max(1_000_000),
  cores: count.max(100_000),
  memory: memorySchema,
  speed: z.number().positive().max(1000).default(1),
});

const qosSchema = z
  .strictObject({
    walltime: runtimeSchema.optional(),
    max_jobs: count.optional(),
    max_cores: count.optional(),
  })
  .nullish();

/** What sbatch reads on one #SBATCH line: a SLURM name, never a line break or a quote. */
const slurmName = z.string().regex(SAFE_NAME, 'a SLURM name: letters, digits, _ . and -');

const siteSchema = z.strictObject({
  backend: z.enum(BACKENDS).optional(),
  partition: z.string().refine((p) => p.split(',').every((n) => SAFE_NAME.test(n)), 'a SLURM partition (letters, digits, _ . and -), or several comma-separated').optional(),
  account: slurmName.optional(),
  node_classes: z.array(nodeClassSchema).min(1, 'list at least one node class').optional(),
  qos: z.record(z.string().regex(SAFE_NAME, 'use letters, digits, _ . and -'), qosSchema).optional(),
  retries: retriesSchema.optional(),
});

const sitesFileSchema = z.strictObject({
  sites: z.record(z.string().regex(SAFE_NAME, 'site names use letters, digits, _ . and -'), siteSchema).nullish(),
});

const FIX = 'see "Sites and plans" in README.md for the format of sites.yaml';

/**
 * The built-in sites (tiger3, perlmutter, universe, local) merged with the workspace's
 * `sites.yaml`. A site the file names that is built in keeps every key the file does not
 * give; a new site must list its node classes.
 */
export function loadSites(wsRoot: string): Site[] {
  const sites = new Map(builtinSites().map((s) => [s.name, s]));
  if (!existsSync(join(wsRoot, SITES_FILE))) return [...sites.values()];
  const y = readYamlFile(join(wsRoot, SITES_FILE), SITES_FILE);
  const parsed = validate(sitesFileSchema, y, y.data, [], () => FIX);
  const problems: Problem[] = [];
  for (const [name, s] of Object.entries(parsed.sites ?? {})) {
    const at = (...key: (string | number)[]) => ({ file: y.file, line: y.lineOf(['sites', name, ...key]), key: formatKeyPath(['sites', name, ...key]) });
    const base = sites.get(name);
    if (!base && !s.node_classes) {
      problems.push({ ...at(), message: `site "${name}" is not built in and has no node_classes`, fix: `add node_classes: [{name: ${name}, count: <nodes>, cores: <cores per node>, memory: <memory per node, e.g. 256G>}]` });
      continue;
    }
    const seen = new Set<string>();
    s.node_classes?.forEach((c, i) => {
      if (seen.has(c.name)) problems.push({ ...at('node_classes', i, 'name'), message: `node class "${c.name}" is listed twice`, fix: 'give each node class of a site its own name' });
      seen.add(c.name);
    });
    const site: Site = {
      name,
      backend: s.backend ?? base?.backend ?? 'slurm',
      nodeClasses: s.node_classes?.map((c) => ({ name: c.name, count: c.count, coresPerNode: c.cores, memoryMBPerNode: c.memory, speed: c.speed })) ?? base!.nodeClasses,
      qos: s.qos
        ? Object.entries(s.qos).map(([q, l]) => ({ name: q, maxWalltimeSeconds: l?.walltime ?? UNLIMITED, maxJobs: l?.max_jobs ?? UNLIMITED, maxCores: l?.max_cores ?? UNLIMITED }))
        : base?.qos ?? [{ name: 'normal', maxWalltimeSeconds: UNLIMITED, maxJobs: UNLIMITED, maxCores: UNLIMITED }],
      partition: s.partition ?? base?.partition,
      account: s.account ?? base?.account,
      retries: s.retries ?? base?.retries,
    };
    if (site.qos.length === 0) problems.push({ ...at('qos'), message: 'no QoS listed', fix: 'name at least one QoS, or leave qos: out' });
    sites.set(name, site);
  }
  if (problems.length) throw new ConfigError(problems);
  return [...sites.values()];
}

/** The site called `name`, or an error at `where` listing the known ones. */
export function siteNamed(sites: Site[], name: string, where: Location): Site {
  const site = sites.find((s) => s.name === name);
  if (site) return site;
  throw configError({ ...where, message: `unknown site "${name}"`, fix: `use one of: ${sites.map((s) => s.name).join(', ')}; or describe it in ${SITES_FILE} at the workspace root` });
}
