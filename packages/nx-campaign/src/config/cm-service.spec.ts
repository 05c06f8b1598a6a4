import { describe, expect, it } from 'vitest';
import { parseYaml } from '../format/yaml-file';
import { messageOf } from '../testing/fixture';
import { readBpsConfig } from './bps-config';
import { isCmServiceCampaign, readCmServiceCampaigns } from './cm-service';

const FILE = `- Imports:
    - "\${CM_CONFIGS}/my_steps.yaml"
- SpecBlock:
    name: my_campaign
    steps:
      - Step:
          name: step1
          spec_block: my_step1
          child_config:
            split_method: split_by_query
            split_min_groups: 4
            split_dataset: raw
            split_field: exposure
      - Step:
          name: step2
          prerequisites: ["step1"]
          child_config:
            split_method: split_by_vals
            split_vals: [9615, 9697]
      - Step:
          name: step3
          prerequisites: ["step2"]
          child_config:
            split_method: no_split
    data:
      butler_repo: "/repo/main"
      data_query: "instrument = 'HSC'"
`;

describe('cm-service campaigns', () => {
  it('reads the step structure: names, prerequisites, splits', () => {
    const y = parseYaml(FILE, 'c.yaml');
    expect(isCmServiceCampaign(y.data)).toBe(true);
    const [c] = readCmServiceCampaigns(y);
    expect(c).toMatchObject({ name: 'my_campaign', dataQuery: "instrument = 'HSC'", butlerRepo: '/repo/main' });
    expect(c.steps).toEqual([
      { name: 'step1', specBlock: 'my_step1', prerequisites: [], split: { by: 'query', dimension: 'exposure', dataset: 'raw', min_groups: 4, max_size: undefined } },
      { name: 'step2', specBlock: undefined, prerequisites: ['step1'], split: { by: 'values', dimension: undefined, values: [9615, 9697] } },
      { name: 'step3', specBlock: undefined, prerequisites: ['step2'], split: undefined },
    ]);
    expect(c.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^1 imported spec file/), expect.stringMatching(/step step2 splits without split_field here/)]);
  });

  it('a prerequisite that is not a step before, or an unknown split method, is a located error', () => {
    expect(messageOf(() => readCmServiceCampaigns(parseYaml(FILE.replace('prerequisites: ["step1"]', 'prerequisites: ["step9"]'), 'c.yaml')))).toMatch(/^c\.yaml:16 \(1\.SpecBlock\.steps\.1\.Step\.prerequisites\): prerequisite step9 of step step2 is not a step before it/);
    expect(messageOf(() => readCmServiceCampaigns(parseYaml(FILE.replace('split_method: no_split', 'split_method: by_magic'), 'c.yaml')))).toMatch(/split_method "by_magic" is not one of cm-service's/);
  });
});

describe('BPS configuration files', () => {
  it('reads the known keys, per-label settings and includes; a wrong type is located', () => {
    const y = parseYaml('includeConfigs:\n  - ${PKG_DIR}/bps/resources.yaml\npipetask:\n  isr:\n    requestMemory: 8000\n  measure: {requestMemory: 10000}\nrequestCpus: "{cores}"\n', 'bps.yaml');
    const c = readBpsConfig(y, { cwd: '/', env: {} });
    expect(c.labels).toEqual(['isr', 'measure']);
    expect(c.warnings[0].message).toBe('${PKG_DIR}/bps/resources.yaml: PKG_DIR not set here: not read');
    expect(messageOf(() => readBpsConfig(parseYaml('pipetask:\n  isr:\n    requestMemory: 8G\n', 'bps.yaml'), { cwd: '/' }))).toMatch(/^bps\.yaml:3 \(pipetask\.isr\.requestMemory\): requestMemory is a number \(MB\), not "8G"/);
  });
});
