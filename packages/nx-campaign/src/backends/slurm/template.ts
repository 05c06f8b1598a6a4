/** sbatch scripts from Handlebars templates, every value shell-quoted unless the template asks for it raw (`{{raw x}}`). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from '../../model/command';
import { CampaignError } from '../../format/errors';
import { quotedTemplates } from '../quoted-template';

/** Where a workspace overrides the default template: a stage's own, else its site's. */
export const TEMPLATE_DIR = 'sbatch';
export const stageTemplatePath = (stage: string) => join(TEMPLATE_DIR, 'stages', `${stage}.hbs`);
export const siteTemplatePath = (site: string) => join(TEMPLATE_DIR, 'sites', `${site}.hbs`);

/**
 * The header comes from the plan; `run-stage` is the wrapper a template must keep: it runs
 * the command (through srun) and records its exit code and times next to the log.
 */
export const DEFAULT_TEMPLATE = `#!/bin/bash
#SBATCH --job-name={{job.name}}
#SBATCH --comment={{job.comment}}
#SBATCH --nodes={{job.nodes}}
#SBATCH --ntasks={{job.ntasks}}
#SBATCH --cpus-per-task={{job.cpusPerTask}}
#SBATCH --mem={{job.mem}}
#SBATCH --time={{job.time}}
{{#if job.partition}}
#SBATCH --partition={{job.partition}}
{{/if}}
{{#if job.qos}}
#SBATCH --qos={{job.qos}}
{{/if}}
{{#if job.account}}
#SBATCH --account={{job.account}}
{{/if}}
#SBATCH --output={{job.output}}
#SBATCH --error={{job.output}}

{{> run-stage}}
`;

/**
 * Sets the environment and runs the command; then, as the local backend does, gives outputs
 * their final names on success (so jobs started by afterok find them) or in-progress names on
 * failure, and writes "<exit code> <start> <end> <peak bytes> <job> <restarts> <seconds>" to the
 * exit file: start and end in epoch seconds; the peak memory of the job's cgroup where one is
 * readable (v1 or v2), else 0; the job id and SLURM's requeue count, so that a file written by an
 * earlier run of a requeued job is not taken for this one's end; the duration from the node's
 * monotonic clock (/proc/uptime), which a wall-clock step does not change ("-" without it). A
 * command that exits 0 without writing a declared output fails the job, so its children never start.
 */
const RUN_STAGE = `cd {{stage.cwd}} || exit 1
{{#each stage.env}}
export {{name @key}}={{this}}
{{/each}}
nxc_start=$(date +%s)
read -r nxc_up0 _ < /proc/uptime 2>/dev/null
if [ "\${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
  # Requeued: what the killed run wrote is not an output.
{{#each stage.outputs}}
  {{#unless viaArgument}}[ -e {{final}} ] && mv -fT {{final}} {{inProgress}}{{/unless}}
{{/each}}
  :
fi
printf '# stage %s of run %s, job %s on %s, started %s\\n' {{stage.name}} {{stage.run}} "$SLURM_JOB_ID" "\${SLURMD_NODENAME:-$(hostname)}" "$(date -u +%FT%TZ)"
{{#if stage.srun}}srun --ntasks={{job.ntasks}} --cpus-per-task={{job.cpusPerTask}} {{/if}}{{#each stage.argv}}{{this}} {{/each}}
nxc_code=$?
nxc_job=$nxc_code
if [ $nxc_code -eq 0 ]; then
  :
{{#each stage.outputs}}
  {{#if viaArgument}}[ -e {{inProgress}} ] && mv -fT {{inProgress}} {{final}}{{/if}}
  [ -e {{final}} ] || { printf 'nx-campaign: exited 0 but did not write %s\\n' {{final}}; nxc_job=1; }
{{/each}}
else
{{#each stage.outputs}}
  {{#unless viaArgument}}[ -e {{final}} ] && mv -fT {{final}} {{inProgress}}{{/unless}}
{{/each}}
  :
fi
nxc_cg=$(sed -n 's/^[0-9]*:memory:\\(.*\\)$/\\1/p' /proc/self/cgroup 2>/dev/null)
nxc_cg2=$(sed -n 's/^0::\\(.*\\)$/\\1/p' /proc/self/cgroup 2>/dev/null)
nxc_peak=$(cat "/sys/fs/cgroup/memory\${nxc_cg%/step_*}/memory.max_usage_in_bytes" 2>/dev/null || cat "/sys/fs/cgroup\${nxc_cg2%/step_*}/memory.peak" 2>/dev/null)
read -r nxc_up1 _ < /proc/uptime 2>/dev/null
nxc_took=$(awk -v a="$nxc_up0" -v b="$nxc_up1" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2f", b - a }')
printf '%s %s %s %s %s %s %s\\n' "$nxc_code" "$nxc_start" "$(date +%s)" "\${nxc_peak:-0}" "$SLURM_JOB_ID" "\${SLURM_RESTART_COUNT:-0}" "$nxc_took" > {{stage.exitFile}}.tmp && mv {{stage.exitFile}}.tmp {{stage.exitFile}}
exit $nxc_job
`;

const templates = quotedTemplates(shellQuote, {
  partials: { 'run-stage': RUN_STAGE },
  helpers: ({ rawText, safe }) => ({
    // An environment variable's name cannot be quoted: it must be one.
    name: (value: unknown) => {
      const text = rawText(value);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) throw new CampaignError(`environment variable name ${JSON.stringify(text)} is not a shell name\n  fix: use letters, digits and _ only, not starting with a digit`);
      return safe(text);
    },
  }),
});

export interface SbatchContext {
  job: {
    name: string;
    comment: string;
    nodes: number;
    ntasks: number;
    cpusPerTask: number;
    /** e.g. `4000M` */
    mem: string;
    /** D-HH:MM:SS */
    time: string;
    partition?: string;
    qos?: string;
    account?: string;
    output: string;
  };
  stage: {
    name: string;
    run: string;
    cwd: string;
    argv: string[];
    env: Record<string, string>;
    outputs: { final: string; inProgress: string; viaArgument: boolean }[];
    /** Launch through srun (MPI: more than one rank). */
    srun: boolean;
    exitFile: string;
  };
}

/** `{{> run-stage}}`, the wrapper every template must keep. */
const RUN_STAGE_PARTIAL = /\{\{~?>\s*run-stage\s*~?\}\}/;

/**
 * Render `source` (a template's text; `file` names it in errors, which are located at the
 * template's line where Handlebars says one).
 */
export function renderSbatch(source: string, file: string, context: SbatchContext): string {
  return templates.render(source, file, context, 'use the fields of the default template (npx campaign sbatch-template prints it)');
}

/** The template for a stage: `sbatch/stages/<stage>.hbs`, else `sbatch/sites/<site>.hbs`, else the default. */
export function templateFor(wsRoot: string, site: string, stage: string): { file: string; source: string } {
  for (const file of [stageTemplatePath(stage), siteTemplatePath(site)]) {
    const path = join(wsRoot, file);
    if (!existsSync(path)) continue;
    const source = readFileSync(path, 'utf8');
    const refuse = (message: string) => new CampaignError(`${file}: ${message}\n  fix: start from the default template (npx campaign sbatch-template prints it)`);
    if (source.includes('\0')) throw refuse('not a text file');
    if (!RUN_STAGE_PARTIAL.test(source)) throw refuse('does not include {{> run-stage}}, which runs the stage and records its exit code');
    return { file, source };
  }
  return { file: 'the default sbatch template', source: DEFAULT_TEMPLATE };
}
