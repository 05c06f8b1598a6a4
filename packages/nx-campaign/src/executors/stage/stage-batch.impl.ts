import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { createBackend } from '../../backends';
import { DEFAULT_POLL_SECONDS } from '../../backends/slurm';
import { execute, prepare, type EngineJob, type Finished, type Prepared } from '../../engine/engine';
import { resolvePlanSettings } from '../../planning/plan-run';
import { loadSites } from '../../sites/load';
import { asRecordBusy, CampaignRecord, type RecordBusy } from '../../store/record';
import { Recorder, type AttemptLog } from '../../store/recorder';
import { Progress } from '../../engine/progress';
import type { Run } from '../../model/run';
import { withHistory } from '../../store/history';
import { loadRunCached } from '../../store/run-cache';
import { CampaignError, ConfigError } from '../../format/errors';
import { missingFiles } from '../../config/missing-files';
import { workspaceDataDir } from '../../store/stage-state';
import type { StageExecutorOptions } from './schema';

interface BatchResult {
  task: string;
  result: { success: boolean; status?: 'success' | 'failure' | 'skipped'; terminalOutput: string };
}

/**
 * Nx hands the whole uncached sub-DAG of `stage` tasks to one process; the runs of each backend
 * (local, slurm or allocation) go to the engine together, and each stage is reported as it ends.
 */
export default async function* stageBatch(taskGraph: TaskGraph, inputs: Record<string, StageExecutorOptions>, overrides: Partial<StageExecutorOptions> | undefined, context: ExecutorContext): AsyncGenerator<BatchResult> {
  const dataDir = workspaceDataDir(context.root);
  const taskOf = new Map<string, string>();
  const jobs = new Map<string, EngineJob>();
  const first = inputs[Object.keys(taskGraph.tasks)[0]] ?? {};
  const option = <K extends keyof StageExecutorOptions>(k: K): StageExecutorOptions[K] | undefined => first[k] ?? overrides?.[k];
  const abort = new AbortController();
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const prepared: Prepared[] = [];
  let recorder: Recorder | undefined;
  let earlier: CampaignRecord | undefined;
  try {
    for (const taskId of Object.keys(taskGraph.tasks)) {
      const o = inputs[taskId];
      let job = jobs.get(o.run);
      if (!job) {
        const { run, fingerprints } = await loadRunCached(context.root, o.run, dataDir);
        // Nx sends a stage it has no cache entry for; if its outputs on disk were made by this
        // configuration (cache evicted, or another stage of the run damaged), it need not run.
        const reuseComplete = run.resume === 'resume' && process.env.NX_SKIP_NX_CACHE !== 'true';
        job = { run, stages: [], fingerprints, reuseComplete };
        jobs.set(o.run, job);
      }
      job.stages.push(o.stage);
      taskOf.set(`${job.run.name}/${o.stage}`, taskId);
    }
    // A missing script would fail the run at its first stage that needs it, after others ran.
    const missing = [...jobs.values()].flatMap((j) => missingFiles(context.root, j.run, j.stages));
    if (missing.length) throw new ConfigError(missing);
    // Backend: --backend, else the run file's, else its site's; the site's retries apply on every backend.
    const sites = loadSites(context.root);
    const byBackend = new Map<string, EngineJob[]>();
    for (const job of jobs.values()) {
      job.settings = resolvePlanSettings(context.root, job.run, sites);
      const backend = option('backend') ?? job.run.backend ?? job.settings.site.backend;
      byBackend.set(backend, [...(byBackend.get(backend) ?? []), job]);
    }
    // What earlier runs measured and escalated sizes (and plans) these stages.
    earlier = CampaignRecord.openExisting(context.root);
    if (earlier) for (const job of jobs.values()) job.run = withHistory(job.run, earlier).run;
    // Plans, sizes, and (SLURM) every job script rendered: a mistake in sites.yaml, a template
    // or a stage too large stops here, before the record is made or written.
    for (const [name, group] of byBackend) {
      const backend = await createBackend(name, { wsRoot: context.root, dataDir, print, signal: abort.signal, pollSeconds: option('pollInterval') ?? DEFAULT_POLL_SECONDS, runs: group.map((j) => j.run) });
      prepared.push(prepare(context.root, group, backend));
    }
    recorder = new Recorder(earlier ?? CampaignRecord.open(context.root), context.root);
    // Take each run in the record (refused while another process runs it) and record its version.
    for (const p of prepared) {
      for (const job of p.jobs) {
        const site = p.backend.name === 'local' ? (job.run.site ?? 'local') : p.backend.name === 'allocation' ? `allocation in ${job.settings!.site.name}` : job.settings!.site.name;
        const v = recorder.begin(job.run, { site, backend: p.backend.name, plan: p.plans.get(job.run.name) });
        if (v.previous) process.stdout.write(`${job.run.name}: run files changed since version ${v.previous.version}; recorded as version ${v.version} (campaign report ${job.run.file} --diff)\n`);
      }
    }
  } catch (err) {
    const e = asRecordBusy(err, recordPathOf(recorder, earlier)) ?? err;
    // Runs taken before the failure are released (nothing ran), unless the record cannot be written.
    if (e === err) for (const job of jobs.values()) recorder?.end(job.run, 'failed');
    (recorder?.record ?? earlier)?.close();
    yield* failAll(Object.keys(taskGraph.tasks), e);
    return;
  }
  const backendOf = new Map(prepared.flatMap((p) => p.jobs.map((j) => [j.run.name, p.backend.name] as const)));
  const runOf = new Map([...jobs.values()].map((j) => [j.run.name, j.run]));
  const failed = new Set<string>();
  const stop = () => abort.abort();
  // Kept until the backends have cleaned up (cancelled their jobs): with a once-handler, a second
  // Ctrl-C would get its default action and kill this process half-way through that.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Runs of hundreds of stages are watched: a line every few seconds while something changes.
  const progress = new Progress([...jobs.values()].flatMap((j) => j.stages.map((st) => `${j.run.name}/${st}`)), print);
  const ticker = setInterval(() => progress.tick(), 1000).unref();
  // Once the record stayed locked beyond its busy timeout, nothing more is written to it: the engine
  // leaves the SLURM jobs running, and the next invocation re-attaches to them.
  let busy: RecordBusy | undefined;
  const write = <T>(f: () => T): T | undefined => {
    if (busy) return undefined;
    try {
      return f();
    } catch (e) {
      busy = asRecordBusy(e, recorder!.record.path);
      throw busy ?? e;
    }
  };
  const record = tracked(recorder, progress, write);
  try {
    const results = merge(...prepared.map((p) => execute(p, { wsRoot: context.root, dataDir, print, signal: abort.signal, record, leaveRunning: option('leaveRunning') === true, accepted: (run, step) => recorder!.record.accepted(run, step) })));
    for await (const { run, stage, result } of results) {
      write(() => recorder!.finished(runOf.get(run)!, stage, result, backendOf.get(run)!));
      progress.ended(`${run}/${stage}`, result.status);
      progress.tick();
      if (result.status !== 'success') failed.add(run);
      const line = `${run}/${stage}: ${result.message}`;
      if (result.status !== 'success') process.stderr.write(`${line}\n`);
      // The output was streamed live and is in the log; Nx keeps (and replays on cache hits) the summary.
      const terminalOutput = result.status === 'failure' ? `${line}\n${result.output}` : `${line}\n`;
      yield { task: taskOf.get(`${run}/${stage}`)!, result: { success: result.status === 'success', status: result.status, terminalOutput } };
    }
  } catch (e) {
    yield* failAll(Object.keys(taskGraph.tasks), e);
  } finally {
    clearInterval(ticker);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    for (const job of jobs.values()) if (!busy) write(() => recorder!.end(job.run, abort.signal.aborted ? 'interrupted' : failed.has(job.run.name) ? 'failed' : 'done'));
    recorder.record.close();
  }
}

/** The record through `write`, telling `progress` which attempts are queued and which run. */
function tracked(record: AttemptLog, progress: Progress, write: <T>(f: () => T) => T | undefined): AttemptLog {
  const key = (run: Run, stage: string) => `${run.name}/${stage}`;
  return {
    started: (run, stage, info) => {
      write(() => record.started(run, stage, info));
      progress.attempt(key(run, stage), info.state === 'running' ? 'running' : 'queued');
    },
    state: (run, stage, state, nodes, reason) => {
      write(() => record.state(run, stage, state, nodes, reason));
      progress.attempt(key(run, stage), state === 'running' ? 'running' : 'queued');
    },
    live: (run) => write(() => record.live(run)) ?? [],
    jobIds: (run) => write(() => record.jobIds(run)) ?? new Set(),
    adopt: (run, stage, attemptId) => write(() => record.adopt(run, stage, attemptId)),
    abandon: (attemptId, state, message) => write(() => record.abandon(attemptId, state, message)),
    finished: (run, stage, result, backend) => write(() => record.finished(run, stage, result, backend)),
    tune: (run, stage, t) => write(() => record.tune(run, stage, t)),
  };
}

function recordPathOf(recorder?: Recorder, earlier?: CampaignRecord): string {
  return (recorder?.record ?? earlier)?.path ?? '.campaign/record.sqlite';
}

/** Results of all backends, each as soon as it is known. */
async function* merge(...sources: (AsyncGenerator<Finished> | undefined)[]): AsyncGenerator<Finished> {
  const live = sources.filter((s): s is AsyncGenerator<Finished> => s !== undefined);
  const next = new Map(live.map((s) => [s, s.next().then((r) => ({ s, r }))]));
  while (next.size) {
    const { s, r } = await Promise.race(next.values());
    if (r.done) next.delete(s);
    else {
      next.set(s, s.next().then((r2) => ({ s, r: r2 })));
      yield r.value;
    }
  }
}

function* failAll(tasks: string[], e: unknown): Generator<BatchResult> {
  if (!(e instanceof CampaignError)) throw e;
  process.stderr.write(`${e.message}\n`);
  for (const task of tasks) yield { task, result: { success: false, status: 'failure', terminalOutput: `${e.message}\n` } };
}
