/**
 * cm-service campaign files (a list of `Imports`, `SpecBlock`, `Specification` blocks): the step
 * structure of each SpecBlock that has `steps:` (names, prerequisites, how each splits), in the
 * split forms of a Rubin campaign file. Spec blocks and scripts from `Imports` are not read: their
 * locations are cm-service's own (`${CM_CONFIGS}`), a warning says so.
 */
import type { Problem } from '../format/errors';
import { configError } from '../format/errors';
import type { YamlFile } from '../format/yaml-file';

export interface CmStep {
  name: string;
  specBlock?: string;
  prerequisites: string[];
  /** As a Rubin campaign step's `split:`; undefined for no_split. */
  split?: { by: 'values'; dimension?: string; values: unknown[] } | { by: 'query'; dimension?: string; dataset?: string; min_groups?: number; max_size?: number };
}

export interface CmCampaign {
  name: string;
  steps: CmStep[];
  dataQuery?: string;
  butlerRepo?: string;
  warnings: Problem[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function isCmServiceCampaign(data: unknown): boolean {
  return Array.isArray(data) && data.some((b) => isRecord(b) && ['Imports', 'SpecBlock', 'Specification', 'Campaign', 'Step', 'Group', 'Script'].some((k) => k in b));
}

/** The campaigns (SpecBlocks with steps) of a cm-service file. */
export function readCmServiceCampaigns(y: YamlFile): CmCampaign[] {
  const blocks = y.data as unknown[];
  const at = (path: (string | number)[]) => ({ file: y.file, line: y.lineOf(path), key: path.join('.') });
  const warnings: Problem[] = [];
  blocks.forEach((b, i) => {
    if (isRecord(b) && Array.isArray(b.Imports)) warnings.push({ ...at([i, 'Imports']), message: `${b.Imports.length} imported spec file(s) (${b.Imports.join(', ')}) are cm-service's own: their spec blocks and scripts are not read`, code: 'absent' });
  });
  const out: CmCampaign[] = [];
  blocks.forEach((b, i) => {
    const spec = isRecord(b) ? b.SpecBlock : undefined;
    if (!isRecord(spec) || !Array.isArray(spec.steps)) return;
    const names = new Set<string>();
    const steps = spec.steps.map((entry, j): CmStep => {
      const path = [i, 'SpecBlock', 'steps', j, 'Step'];
      const s = isRecord(entry) ? entry.Step : undefined;
      if (!isRecord(s) || typeof s.name !== 'string') throw configError({ ...at(path), message: 'a step is {Step: {name, spec_block, prerequisites, child_config}}', fix: 'give the step a name' });
      const pre = Array.isArray(s.prerequisites) ? s.prerequisites.map(String) : [];
      for (const p of pre) if (!names.has(p)) throw configError({ ...at([...path, 'prerequisites']), message: `prerequisite ${p} of step ${s.name} is not a step before it`, fix: 'name a step listed earlier' });
      names.add(s.name);
      const c = isRecord(s.child_config) ? s.child_config : {};
      const field = typeof c.split_field === 'string' ? c.split_field : undefined;
      let split: CmStep['split'];
      if (c.split_method === 'split_by_vals') split = { by: 'values', dimension: field, values: Array.isArray(c.split_vals) ? c.split_vals : [] };
      else if (c.split_method === 'split_by_query') split = { by: 'query', dimension: field, dataset: typeof c.split_dataset === 'string' ? c.split_dataset : undefined, min_groups: typeof c.split_min_groups === 'number' ? c.split_min_groups : undefined, max_size: typeof c.split_max_group_size === 'number' ? c.split_max_group_size : undefined };
      else if (c.split_method !== undefined && c.split_method !== 'no_split') throw configError({ ...at([...path, 'child_config', 'split_method']), message: `split_method ${JSON.stringify(c.split_method)} is not one of cm-service's (no_split, split_by_vals, split_by_query)`, fix: 'use one of those' });
      if (split && !field) warnings.push({ ...at([...path, 'child_config']), message: `step ${s.name} splits without split_field here: cm-service takes it from spec block ${String(s.spec_block ?? '?')} (an import)`, code: 'absent' });
      return { name: s.name, specBlock: typeof s.spec_block === 'string' ? s.spec_block : undefined, prerequisites: pre, split };
    });
    const data = isRecord(spec.data) ? spec.data : {};
    out.push({ name: String(spec.name ?? `campaign ${i}`), steps, dataQuery: typeof data.data_query === 'string' ? data.data_query : undefined, butlerRepo: typeof data.butler_repo === 'string' ? data.butler_repo : undefined, warnings });
  });
  return out;
}
