import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Table from 'cli-table3';
import { CampaignError, formatProblem } from '../format/errors';
import { formatClock, formatDuration, formatElapsed, formatMemory } from '../format/quantities';
import { checkSbatchTemplates } from '../backends/slurm';
import { ganttSvg } from '../planning/gantt-svg';
import { describeAllocation, planRun, resolvePlanSettings, WALLTIME_SAFETY, type RunPlan } from '../planning/plan-run';
import { compressHostlist } from '../sites/hostlist';
import { loadSites } from '../sites/load';
import { withHistory, type StageHistory } from '../store/history';
import { CampaignRecord } from '../store/record';
import { loadRunArgument } from './run-argument';

export interface PlanOptions {
  /** Plan on this site instead of the one the file names. */
  site?: string;
  /** Print only JSON on stdout. */
  json?: boolean;
  /** Write a Gantt chart here (relative to `cwd`). */
  svg?: string;
}

export interface PlanOutput {
  stdout: string;
  /** Warnings: kept off stdout so that `--json` prints JSON alone. */
  stderr: string;
  plan: RunPlan;
  history: Map<string, StageHistory>;
}

/** `campaign plan <file>` and the `plan` target: plan, then render as a table or JSON (and SVG). `file` and `svg` are relative to `cwd`. */
export function planCommand(cwd: string, file: string, options: PlanOptions = {}): PlanOutput {
  const { wsRoot, run: declared } = loadRunArgument(cwd, file);
  let run = declared; // with the measured runtimes of the record, when there is one
  const rec = CampaignRecord.openExisting(wsRoot);
  let history = new Map<string, StageHistory>();
  if (rec) {
    try {
      ({ run, history } = withHistory(run, rec));
    } finally {
      rec.close();
    }
  }
  const settings = resolvePlanSettings(wsRoot, run, loadSites(wsRoot), options.site);
  const plan = planRun(wsRoot, run, settings);
  // A template mistake is found here, not at submission, after other jobs were submitted.
  if (settings.site.backend === 'slurm') checkSbatchTemplates(wsRoot, settings.site, run, plan.stages);
  let stderr = plan.warnings.map((w) => `warning: ${formatProblem(w)}\n`).join('');
  if (options.json && plan.deadline && !plan.deadline.met) stderr += `warning: ${deadlineLines(plan).join('\n')}\n`;
  if (options.svg) {
    try {
      writeFileSync(resolve(cwd, options.svg), ganttSvg(plan));
    } catch (e) {
      throw new CampaignError(`cannot write the Gantt chart to ${options.svg}: ${(e as Error).message}`);
    }
  }
  const stdout = options.json ? `${JSON.stringify(planJson(plan, history), null, 2)}\n` : planTable(plan, history) + (options.svg ? `Gantt chart: ${options.svg}\n` : '');
  return { stdout, stderr, plan, history };
}

export function planJson(plan: RunPlan, history = new Map<string, StageHistory>()) {
  const { settings, deadline } = plan;
  return {
    run: plan.run,
    file: plan.file,
    site: settings.site.name,
    allocation: settings.site.nodeClasses.map((c) => ({ nodeClass: c.name, nodes: c.count, coresPerNode: c.coresPerNode, memoryMBPerNode: c.memoryMBPerNode })),
    makespanSeconds: plan.makespan,
    lowerBoundSeconds: plan.lowerBound,
    ratio: plan.ratio,
    criticalPath: plan.criticalPath,
    ...(deadline ? { deadlineSeconds: deadline.seconds, meetsDeadline: deadline.met, suggestions: deadline.suggestions } : {}),
    stages: plan.stages.map((s) => ({
      name: s.name,
      nodes: s.nodes,
      cores: s.cores,
      memoryMBPerNode: s.memoryMBPerNode,
      start: s.start,
      end: s.end,
      walltimeSeconds: s.walltimeSeconds,
      qos: s.qos ?? null,
      critical: s.critical,
      priority: s.priority,
      ...(history.has(s.name) ? { history: history.get(s.name) } : {}),
    })),
  };
}


export function planTable(plan: RunPlan, history = new Map<string, StageHistory>()): string {
  const { settings } = plan;
  const learned = history.size > 0;
  const table = new Table({
    head: ['stage', 'nodes', 'cores', 'memory/node', 'start', 'end', 'walltime', 'QoS', ...(learned ? ['estimate', 'measured'] : [])],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
  });
  for (const s of plan.stages) {
    const h = history.get(s.name);
    const learnedCells = !learned ? [] : !h ? ['', ''] : [formatDuration(h.declaredSeconds), h.measuredSeconds === undefined ? '' : `${formatElapsed(h.measuredSeconds)}${h.measuredPeakMB === undefined ? '' : `, ${formatMemory(h.measuredPeakMB)} peak`} (${h.samples})`];
    const memory = h?.tunedMemoryMB !== undefined && h.tunedMemoryMB > h.declaredMemoryMB ? `${formatMemory(s.memoryMBPerNode)} (was ${formatMemory(h.declaredMemoryMB)})` : formatMemory(s.memoryMBPerNode);
    table.push([`${s.critical ? '* ' : '  '}${s.name}`, compressHostlist(s.nodes), s.cores, memory, formatClock(s.start), formatClock(s.end), formatClock(s.walltimeSeconds), s.qos ?? '(none)', ...learnedCells]);
  }
  const cap = settings.cap;
  const capText = cap ? ` (${cap.from}: ${cap.cores !== undefined ? `${cap.cores} cores` : `${cap.nodes} nodes`})` : ' (the whole site)';
  const lines = [`plan of ${plan.file} on ${settings.site.name} (${settings.siteFrom})`, `  allocation: ${describeAllocation(settings)}${capText}`];
  if (cap?.clampedFrom) lines.push(`  the cap asks for ${cap.clampedFrom} nodes; ${settings.fullSite.name} has ${settings.fullSite.nodeClasses[0].count}: planned on all of them`);
  lines.push(
    table.toString(),
    `* critical path. walltime = estimate x ${WALLTIME_SAFETY}, rounded up to a minute (what SLURM is asked for; the plan uses the estimate)`,
    ...(learned ? ['estimate: what the pipeline declares; measured: median of the recent successful runs (how many), which the plan uses instead; memory (was ...): raised by an out-of-memory retry'] : []),
    `makespan ${formatClock(plan.makespan)} (${formatDuration(plan.makespan)})   lower bound ${formatClock(plan.lowerBound)} (${formatDuration(plan.lowerBound)})   ratio ${plan.ratio.toFixed(2)}`,
  );
  lines.push(...deadlineLines(plan));
  return `${lines.join('\n')}\n`;
}

/** The deadline verdict; when missed, the critical path and what would help. */
export function deadlineLines(plan: RunPlan): string[] {
  const d = plan.deadline;
  if (!d) return ['deadline: none set (deadline: in the run file, or campaign.deadline in a socm pipeline)'];
  if (d.met) return [`deadline ${formatDuration(d.seconds)} (${d.from}): met, ${formatDuration(d.seconds - plan.makespan)} to spare`];
  const width = Math.max(...d.criticalPath.map((x) => x.name.length));
  return [
    `deadline ${formatDuration(d.seconds)} (${d.from}): MISSED by ${formatDuration(plan.makespan - d.seconds)}`,
    '  critical path (stage, start, end):',
    ...d.criticalPath.map((c) => `    ${c.name.padEnd(width)}  ${formatClock(c.start)}  ${formatClock(c.end)}`),
    '  to meet it:',
    ...d.suggestions.map((s) => `    - ${s}`),
  ];
}
