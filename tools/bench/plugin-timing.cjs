// In-process timing of the plugin's createNodes work for one run file, run in a fresh
// Node process by tools/bench-local.mjs. Prints one JSON line:
//   { requireMs, projects, runProjectsMs: [...], coldMs: [...], phases: { name: [ms...] } }
// runProjectsMs: calls reusing the run cache (the usual case: nothing changed);
// coldMs: calls after deleting it (what the first graph after an edit costs).
// Usage: node plugin-timing.cjs REPO_ROOT WS_ROOT RUN_FILE CALLS
const { performance } = require('node:perf_hooks');
const { join } = require('node:path');

const [repo, wsRoot, runFile, callsArg] = process.argv.slice(2);
const calls = Number(callsArg ?? 7);
const dist = join(repo, 'packages', 'nx-campaign', 'dist');

let t = performance.now();
const { runProjects } = require(join(dist, 'plugins', 'nodes.js'));
const requireMs = performance.now() - t;

const { stateDir, workspaceDataDir } = require(join(dist, 'store', 'stage-state.js'));
const { runNameOf } = require(join(dist, 'model', 'run.js'));
const runCache = join(stateDir(workspaceDataDir(wsRoot), runNameOf(runFile)), 'run.json');
const { rmSync } = require('node:fs');

// Where the time goes: the steps runProjects takes, each timed on its own (same inputs).
function stepTimings() {
const phases = {};
const time = (name, fn) => {
  const s = performance.now();
  const v = fn();
  (phases[name] ??= []).push(performance.now() - s);
  return v;
};
try {
  const { readYamlFile } = require(join(dist, 'format', 'yaml-file.js'));
  const { loadRun } = require(join(dist, 'config', 'run.js'));
  const { stageFingerprints } = require(join(dist, 'graph', 'fingerprint.js'));
  const { updateEpochs } = require(join(dist, 'store', 'stage-state.js'));
  const { buildDag } = require(join(dist, 'graph', 'dag.js'));
  for (let i = 0; i < Math.max(3, Math.min(calls, 5)); i++) {
    const run = time('loadRun (YAML + validation + DAG)', () => loadRun(wsRoot, runFile));
    for (const p of run.pipelines) time('  readYamlFile(pipeline.yaml) alone', () => readYamlFile(join(wsRoot, p.file), p.file));
    time('  buildDag alone', () => buildDag([...run.dag.stages.values()], run.inputs, run.file));
    const fps = time('stageFingerprints', () => stageFingerprints(wsRoot, run));
    time('updateEpochs', () => updateEpochs(workspaceDataDir(wsRoot), run.name, fps));
  }
} catch (e) {
  phases.error = String(e && e.message);
}
return phases;
}

async function main() {
  const runProjectsMs = [];
  const coldMs = [];
  let projects = 0;
  for (let i = 0; i < calls; i++) {
    rmSync(runCache, { force: true });
    t = performance.now();
    await runProjects(wsRoot, runFile);
    coldMs.push(performance.now() - t);
    t = performance.now();
    projects = Object.keys(await runProjects(wsRoot, runFile)).length;
    runProjectsMs.push(performance.now() - t);
  }
  return { runProjectsMs, coldMs, projects, phases: stepTimings() };
}

main().then(({ runProjectsMs, coldMs, projects, phases }) => process.stdout.write(`${JSON.stringify({ requireMs, projects, runProjectsMs, coldMs, phases })}\n`));
