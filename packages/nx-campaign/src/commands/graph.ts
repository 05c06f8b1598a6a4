/**
 * `campaign graph <run>`: Nx's graph of one run's stages and their edges at first sight. `nx
 * graph` opens on its composite view (a folder box per run, no edges until each is expanded) and
 * no flag turns that off; the app reads its view from the address (`rawGraph`): the flat
 * ("individual") view, focused on the run's project, whose implicit dependencies are its stages.
 */
import { spawn } from 'node:child_process';
import { CampaignError } from '../format/errors';
import { runNameArg } from './record-commands';

export const GRAPH_PORT = 4211;

/** The graph app's address showing run `run` flat and focused. */
export function graphAddress(base: string, run: string): string {
  const raw = JSON.stringify({ config: { mode: 'individual' }, state: { type: 'focused', nodeId: `project-${run}` } });
  return `${base.replace(/\/$/, '')}/projects?rawGraph=${encodeURIComponent(raw)}`;
}

/** Starts `nx graph` (until Ctrl-C or `signal`) and prints the address of the run's DAG. */
export async function graph(wsRoot: string, runArg: string, o: { port?: number; print: (line: string) => void; signal?: AbortSignal }): Promise<number> {
  const run = runNameArg(runArg);
  const nx = require.resolve('nx/bin/nx.js', { paths: [wsRoot] });
  const port = o.port ?? GRAPH_PORT;
  const child = spawn(process.execPath, [nx, 'graph', `--port=${port}`, '--open=false', `--focus=${run}`], { cwd: wsRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', stop, { once: true });
  process.once('SIGINT', stop);
  let said = '';
  const watch = (d: Buffer) => {
    const text = d.toString();
    said += text;
    const m = /(https?:\/\/[^\s/]+:\d+)/.exec(said);
    if (m && !said.includes('\u0000printed')) {
      said += '\u0000printed';
      o.print(`the DAG of ${run} (Nx's graph, flat, focused on the run): ${graphAddress(m[1], run)}`);
      o.print('Ctrl-C stops the graph server');
    }
  };
  child.stdout.on('data', watch);
  child.stderr.on('data', (d: Buffer) => (said += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 0)));
  process.off('SIGINT', stop);
  if (!said.includes('\u0000printed') && !o.signal?.aborted) {
    const why = said.split('\n').filter((l) => l.trim()).slice(-3).join('\n');
    throw new CampaignError(`nx graph stopped before it served the graph (exit ${code}): ${why}\n  fix: is ${run} a run of this workspace (npx nx show projects), and is port ${port} free (--port)?`);
  }
  return 0;
}
