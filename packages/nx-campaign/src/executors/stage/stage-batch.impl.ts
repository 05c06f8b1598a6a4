import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { runLocally, type LocalJob } from '../../backends/local';
import { loadRunCached } from '../../store/run-cache';
import { CampaignError } from '../../config/errors';
import { workspaceDataDir } from '../../store/stage-state';
import type { StageExecutorOptions } from './schema';

interface BatchResult {
  task: string;
  result: { success: boolean; status?: 'success' | 'failure' | 'skipped'; terminalOutput: string };
}

/**
 * Nx hands the whole uncached sub-DAG of `stage` tasks to one process; the local backend
 * schedules it within this machine's cores and memory and reports each stage as it ends.
 */
export default async function* stageBatch(taskGraph: TaskGraph, inputs: Record<string, StageExecutorOptions>, _overrides: unknown, context: ExecutorContext): AsyncGenerator<BatchResult> {
  const dataDir = workspaceDataDir(context.root);
  const taskOf = new Map<string, string>();
  const jobs = new Map<string, LocalJob>();
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
  } catch (e) {
    yield* failAll(Object.keys(taskGraph.tasks), e);
    return;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const results = runLocally([...jobs.values()], {
      wsRoot: context.root,
      dataDir,
      print: (line) => process.stdout.write(`${line}\n`),
      signal: abort.signal,
    });
    for await (const { run, stage, result } of results) {
      const line = `${run}/${stage}: ${result.message}`;
      if (result.status !== 'success') process.stderr.write(`${line}\n`);
      // The output was streamed live and is in the log; Nx keeps (and replays on cache hits) the summary.
      const terminalOutput = result.status === 'failure' ? `${line}\n${result.output}` : `${line}\n`;
      yield { task: taskOf.get(`${run}/${stage}`)!, result: { success: result.status === 'success', status: result.status, terminalOutput } };
    }
  } catch (e) {
    yield* failAll(Object.keys(taskGraph.tasks), e);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function* failAll(tasks: string[], e: unknown): Generator<BatchResult> {
  if (!(e instanceof CampaignError)) throw e;
  process.stderr.write(`${e.message}\n`);
  for (const task of tasks) yield { task, result: { success: false, status: 'failure', terminalOutput: `${e.message}\n` } };
}
