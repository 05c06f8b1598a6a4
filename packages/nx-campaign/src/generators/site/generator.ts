import type { Tree } from '@nx/devkit';
import { parseDocument } from 'yaml';
import { parseMemoryMB, parseRuntimeSeconds } from '../../format/quantities';
import { SITES_FILE } from '../../sites/load';

export interface SiteGeneratorSchema {
  name: string;
  nodes: number;
  cores: number;
  /** Per node, with a unit: 256G. */
  memory: string;
  partition?: string;
  account?: string;
  backend?: 'slurm' | 'local' | 'allocation';
  /** `name:walltime,...`, e.g. `debug:30m,normal:2d`. */
  qos?: string;
}

/** A site in sites.yaml (created if absent; comments and other sites kept). */
export default function siteGenerator(tree: Tree, o: SiteGeneratorSchema): void {
  const mem = parseMemoryMB(o.memory);
  if ('error' in mem) throw new Error(`--memory: ${mem.error}; ${mem.fix}`);
  const qos = (o.qos ?? '').split(',').map((q) => q.trim()).filter(Boolean).map((q) => {
    const [name, walltime] = q.split(':');
    if (walltime !== undefined) {
      const t = parseRuntimeSeconds(walltime);
      if ('error' in t) throw new Error(`--qos ${q}: ${t.error}; ${t.fix}`);
    }
    return [name, walltime === undefined ? null : { walltime }] as const;
  });
  const doc = parseDocument(tree.exists(SITES_FILE) ? tree.read(SITES_FILE, 'utf8')! : '# Sites: where campaigns run (see "Sites" in README.md).\n');
  if (doc.hasIn(['sites', o.name])) throw new Error(`${SITES_FILE} has a site ${o.name} already`);
  doc.setIn(['sites', o.name], {
    backend: o.backend ?? 'slurm',
    ...(o.partition ? { partition: o.partition } : {}),
    ...(o.account ? { account: o.account } : {}),
    node_classes: [{ name: o.name, count: o.nodes, cores: o.cores, memory: o.memory }],
    ...(qos.length ? { qos: Object.fromEntries(qos) } : {}),
  });
  tree.write(SITES_FILE, doc.toString());
}
