/**
 * BPS configuration files (submit files, defaults, includeConfigs such as drp_pipe's resources
 * and clustering): one mapping whose known keys are checked for type, `includeConfigs` followed
 * with `${ENV}` expanded (a file not on this machine is a warning), per-label `pipetask:` settings
 * read. What BPS would do with them is BPS's; this says whether a file is one it can read.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Problem } from '../format/errors';
import { ConfigError } from '../format/errors';
import type { YamlFile } from '../format/yaml-file';

const NUMBERS = ['requestMemory', 'requestCpus', 'requestDisk', 'requestWalltime', 'numberOfRetries', 'memoryMultiplier', 'memoryLimit'];
const MAPPINGS = ['payload', 'pipetask', 'cluster', 'site', 'finalJob', 'executionButler'];

export const BPS_KEYS = ['pipelineYaml', 'qgraphFile', 'payload', 'includeConfigs', 'pipetask', 'cluster', 'wmsServiceClass', 'computeSite', 'requestMemory', 'submitPath', 'clusterAlgorithm'];

export interface BpsConfig {
  /** Task labels with their own settings (`pipetask: <label>: {...}`). */
  labels: string[];
  includes: string[];
  warnings: Problem[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function readBpsConfig(y: YamlFile, o: { cwd: string; env?: NodeJS.ProcessEnv }): BpsConfig {
  const env = o.env ?? process.env;
  const data = y.data as Record<string, unknown>;
  const at = (path: (string | number)[]) => ({ file: y.file, line: y.lineOf(path), key: path.join('.') });
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const checkLevel = (m: Record<string, unknown>, path: string[]) => {
    for (const k of NUMBERS) if (m[k] !== undefined && typeof m[k] !== 'number' && !(typeof m[k] === 'string' && /\{\w+\}|\$\{\w+\}/.test(m[k] as string))) problems.push({ ...at([...path, k]), message: `${k} is a number (${k === 'requestMemory' ? 'MB' : k === 'requestWalltime' ? 'seconds' : 'a count'}), not ${JSON.stringify(m[k])}`, fix: `write ${k}: 4096` });
  };
  checkLevel(data, []);
  for (const k of MAPPINGS) if (data[k] !== undefined && !isRecord(data[k])) problems.push({ ...at([k]), message: `${k} is a mapping`, fix: `write ${k}: {...}` });
  const labels = isRecord(data.pipetask) ? Object.keys(data.pipetask) : [];
  for (const l of labels) {
    const v = (data.pipetask as Record<string, unknown>)[l];
    if (v !== null && !isRecord(v)) problems.push({ ...at(['pipetask', l]), message: `the settings of task ${l} are a mapping`, fix: `write ${l}: {requestMemory: 4096}` });
    else if (v) checkLevel(v, ['pipetask', l]);
  }
  const includes = data.includeConfigs === undefined ? [] : Array.isArray(data.includeConfigs) ? data.includeConfigs : [data.includeConfigs];
  includes.forEach((inc, i) => {
    if (typeof inc !== 'string') return problems.push({ ...at(['includeConfigs', i]), message: 'an include is a path', fix: 'write - ${DRP_PIPE_DIR}/bps/resources/X.yaml' });
    const unset = [...inc.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]).filter((v) => env[v] === undefined);
    const path = inc.replace(/\$\{(\w+)\}/g, (m, v: string) => env[v] ?? m);
    if (unset.length) warnings.push({ ...at(['includeConfigs', i]), message: `${inc}: ${unset.join(', ')} not set here: not read`, code: 'absent' });
    else if (!existsSync(isAbsolute(path) ? path : resolve(o.cwd, path))) warnings.push({ ...at(['includeConfigs', i]), message: `${inc} is not on this machine: not read`, code: 'absent' });
  });
  if (problems.length) throw new ConfigError(problems);
  return { labels, includes: includes as string[], warnings };
}
