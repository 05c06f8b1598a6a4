import type { ExecutorContext } from '@nx/devkit';
import stageBatch from './stage-batch.impl';
import type { StageExecutorOptions } from './schema';

/** One stage on its own (`--batch=false`): the batch path with a graph of one task. */
export default async function stageExecutor(options: StageExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const id = `${context.projectName}:${context.targetName}`;
  const graph = { roots: [id], tasks: { [id]: { id } }, dependencies: { [id]: [] }, continuousDependencies: { [id]: [] } };
  let success = false;
  for await (const { result } of stageBatch(graph as never, { [id]: options }, {}, context)) success = result.success;
  return { success };
}
