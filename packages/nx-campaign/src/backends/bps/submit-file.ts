/**
 * A group's BPS submit file, from a Handlebars template (values YAML-quoted unless `{{raw x}}`):
 * `bps/campaigns/<campaign>/<step>.hbs`, else `bps/campaigns/<campaign>.hbs`, else
 * `bps/sites/<site>.hbs`, else the default. `campaign render` writes it ahead so that it can be
 * edited; an edit is kept (and recorded with its diff) while the campaign renders the same.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { dump } from 'js-yaml';
import { absolutePath } from '../../model/command';
import type { Run } from '../../model/run';
import { quotedTemplates } from '../quoted-template';

export const DEFAULT_SUBMIT_TEMPLATE = `# BPS submit file of campaign {{raw campaign}}, step {{raw step}}, group {{raw group}}, rendered by
# nx-campaign. It may be edited before it is submitted (npx campaign render writes it); the record
# keeps the file submitted and its difference from this rendering.
qgraphFile: {{qgraphFile}}
project: {{project}}
campaign: {{campaign}}
operator: {{operator}}
computeSite: {{computeSite}}
submitPath: {{submitPath}}
requestCpus: {{requestCpus}}
requestMemory: {{requestMemory}}
numberOfRetries: {{numberOfRetries}}
payload:
  payloadName: {{payloadName}}
  butlerConfig: {{butler}}
  inCollection: {{inputs}}
  dataQuery: {{query}}
  output: {{output}}
{{{raw settings}}}`;

/** A YAML scalar that reads back as the same text (numbers stay numbers). */
const yamlScalar = (text: string) => (/^-?\d+(\.\d+)?$/.test(text) ? text : JSON.stringify(text));
const templates = quotedTemplates(yamlScalar);

export interface SubmitContext {
  campaign: string;
  step: string;
  group: string;
  project: string;
  operator: string;
  computeSite: string;
  payloadName: string;
  qgraphFile: string;
  pipelineYaml: string;
  butler: string;
  inputs: string;
  query: string;
  output: string;
  submitPath: string;
  requestCpus: number;
  requestMemory: number;
  numberOfRetries: number;
  /** The campaign's and step's other BPS settings (`bps:`), as YAML. */
  settings: string;
}

export function submitTemplateFor(wsRoot: string, campaign: string, step: string, site: string): { file: string; source: string } {
  for (const file of [join('bps', 'campaigns', campaign, `${step}.hbs`), join('bps', 'campaigns', `${campaign}.hbs`), join('bps', 'sites', `${site}.hbs`)]) {
    if (existsSync(join(wsRoot, file))) return { file, source: readFileSync(join(wsRoot, file), 'utf8') };
  }
  return { file: 'the default BPS submit template', source: DEFAULT_SUBMIT_TEMPLATE };
}

/** What the template is given for one group (a stage of a Rubin campaign in bps mode). */
export function submitContext(wsRoot: string, run: Run, stage: string, o: { site: string; retries: number }): SubmitContext {
  const st = run.dag.stages.get(stage)!;
  const c = st.config as Record<string, unknown>;
  const text = (k: string) => String(c[k] ?? '');
  const path = (p: string) => (isAbsolute(p) || /^[a-z][a-z0-9+.-]*:\/\//i.test(p) ? p : absolutePath(wsRoot, p));
  const [pipelineFile, expression] = text('pipeline').split('#');
  const settings = c.bps && Object.keys(c.bps as object).length ? dump(c.bps, { lineWidth: -1 }) : '';
  return {
    campaign: run.name,
    step: text('step'),
    group: stage,
    project: run.name,
    operator: process.env.USER || userInfo().username,
    computeSite: o.site,
    payloadName: `${run.name}_${stage}`,
    qgraphFile: path(text('qgraph')),
    pipelineYaml: `${path(pipelineFile)}${expression ? `#${expression}` : ''}`,
    butler: path(text('butler')),
    inputs: (c.inputs as string[]).join(','),
    query: text('query'),
    output: text('output'),
    submitPath: path(join(run.outputDir, 'bps', stage)),
    requestCpus: st.resources.ranks * st.resources.threads,
    requestMemory: Math.ceil(st.resources.memoryMBPerNode),
    numberOfRetries: o.retries,
    settings,
  };
}

export function renderSubmitFile(wsRoot: string, run: Run, stage: string, o: { site: string; retries: number }): { text: string; template: string } {
  const ctx = submitContext(wsRoot, run, stage, o);
  const t = submitTemplateFor(wsRoot, run.name, ctx.step, o.site);
  return { text: templates.render(t.source, t.file, ctx, 'use the fields of the default template (see "Rubin campaigns" in README.md)'), template: t.file };
}

/** Where a group's submit file goes (its stage's `bps submit <file>`), and the copy of what was last rendered. */
export function submitFilePaths(wsRoot: string, run: Run, stage: string): { file: string; rendered: string } {
  const file = absolutePath(wsRoot, String(run.dag.stages.get(stage)!.config.submitFile));
  return { file, rendered: join(dirname(file), '.rendered', `${stage}.yaml`) };
}

export interface SubmitFile {
  file: string;
  text: string;
  sha256: string;
  /** The user's edit, as a diff against the rendering; empty when submitted as rendered. */
  diff: string;
  /** Said when an edit was set aside because the campaign now renders differently. */
  note?: string;
}

/**
 * The file to submit: the rendering, written where the stage submits it from, unless the user
 * edited the file since the same rendering (kept, with its diff). An edit made for an older
 * rendering is set aside as `<file>.edited`.
 */
export function writeSubmitFile(wsRoot: string, run: Run, stage: string, o: { site: string; retries: number }): SubmitFile {
  const { text: fresh } = renderSubmitFile(wsRoot, run, stage, o);
  const { file, rendered } = submitFilePaths(wsRoot, run, stage);
  mkdirSync(dirname(rendered), { recursive: true });
  const last = existsSync(rendered) ? readFileSync(rendered, 'utf8') : undefined;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  let note: string | undefined;
  let text = fresh;
  if (current !== undefined && last === fresh) text = current;
  else {
    if (current !== undefined && current !== fresh && current !== last) {
      renameSync(file, `${file}.edited`);
      note = `${file} was edited for an older rendering of the campaign: rendered again, the edit kept as ${file}.edited`;
    }
    writeFileSync(file, fresh);
    writeFileSync(rendered, fresh);
  }
  const diff = text === fresh ? '' : createTwoFilesPatch('rendered', 'submitted', fresh, text, undefined, undefined, { context: 2 });
  return { file, text, sha256: createHash('sha256').update(text).digest('hex'), diff, note };
}
