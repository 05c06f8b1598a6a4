import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { load } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRun } from '../../config/run';
import { writeSubmitFile } from './submit-file';

let dir: string;
const write = (rel: string, text: string) => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
};
const campaign = (query: string, bps = '') => `pipeline: pipelines/p.yaml
butler: repo
inputs: [DECam/defaults]
query: ${JSON.stringify(query)}
output: u/me/c
mode: bps
resources: {cores: 2, memory: 3G}
${bps}steps:
  - name: step1
    split: {by: values, dimension: band, values: [g]}
`;
const submit = () => writeSubmitFile(dir, loadRun(dir, 'runs/c.yaml'), 'step1_g', { site: 'usdf', retries: 3 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bps-submit-'));
  write('pipelines/p.yaml', 'description: p\ntasks:\n  isr: lsst.ip.isr.IsrTask\nsubsets:\n  step1: [isr]\n');
  mkdirSync(join(dir, 'repo'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('BPS submit files', () => {
  it('render the group: its graph, query, collections and sizes, with values quoted as YAML and extra settings as given', () => {
    write('runs/c.yaml', campaign("instrument = 'DECam' AND detector != 2 # not a comment: \"quoted\"", 'bps:\n  includeConfigs: ["${DRP_PIPE_DIR}/bps/resources/x.yaml"]\n  pipetask: {isr: {requestMemory: 8000}}\n'));
    const f = submit();
    expect(f.file).toBe(join(dir, 'results/c/outputs/bps/step1_g.yaml'));
    const y = load(f.text) as Record<string, any>;
    expect(y).toMatchObject({
      qgraphFile: join(dir, 'results/c/outputs/step1_g.qgraph'),
      project: 'c',
      campaign: 'c',
      computeSite: 'usdf',
      submitPath: join(dir, 'results/c/outputs/bps/step1_g'),
      requestCpus: 2,
      requestMemory: 3000,
      numberOfRetries: 3,
      payload: { payloadName: 'c_step1_g', butlerConfig: join(dir, 'repo'), inCollection: 'DECam/defaults', dataQuery: "instrument = 'DECam' AND detector != 2 # not a comment: \"quoted\" AND band = 'g'", output: 'u/me/c/step1/step1_g' },
      includeConfigs: ['${DRP_PIPE_DIR}/bps/resources/x.yaml'],
      pipetask: { isr: { requestMemory: 8000 } },
    });
    expect(f.diff).toBe('');
  });

  it('keep an edit made since the same rendering (with its diff), and set aside one made for an older rendering', () => {
    write('runs/c.yaml', campaign("instrument = 'DECam'"));
    const first = submit();
    writeFileSync(first.file, first.text.replace('requestMemory: 3000', 'requestMemory: 6000'));
    const edited = submit();
    expect(edited.text).toContain('requestMemory: 6000');
    expect(edited.diff).toMatch(/-requestMemory: 3000\n\+requestMemory: 6000/);
    expect(edited.sha256).not.toBe(first.sha256);
    write('runs/c.yaml', campaign("instrument = 'HSC'"));
    const again = submit();
    expect(again.text).toContain('requestMemory: 3000');
    expect(again.text).toContain("instrument = 'HSC'");
    expect(again.note).toMatch(/edited for an older rendering/);
    expect(readFileSync(`${first.file}.edited`, 'utf8')).toContain('requestMemory: 6000');
  });

  it('come from the campaign\'s template when it has one; a setting the campaign owns is refused in bps:', () => {
    write('runs/c.yaml', campaign("instrument = 'DECam'"));
    write('bps/campaigns/c.hbs', 'qgraphFile: {{qgraphFile}}\n# group {{raw group}} at {{computeSite}}\n');
    expect(submit().text).toBe(`qgraphFile: ${JSON.stringify(join(dir, 'results/c/outputs/step1_g.qgraph'))}\n# group step1_g at "usdf"\n`);
    write('bps/campaigns/c.hbs', '{{nope}}\n');
    expect(() => submit()).toThrow(/bps\/campaigns\/c\.hbs:1: "nope" is not a field/);
    write('runs/c.yaml', campaign('x', 'bps:\n  requestMemory: 100\n'));
    expect(() => loadRun(dir, 'runs/c.yaml')).toThrow(/runs\/c\.yaml:9 \(bps\.requestMemory\): The campaign sets requestMemory/);
  });
});
