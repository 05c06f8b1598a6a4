import type { CreateNodes, CreateNodesResultArray, TargetConfiguration } from '@nx/devkit';
import { AggregateCreateNodesError } from 'nx/src/project-graph/error-types';
import { posix } from 'node:path';
import { formatDuration, formatMemory } from '../config/quantities';
import { formatKeyPath } from '../config/yaml-file';
import { renderArgv, shellLine, shellQuote, stageCwd, stageEnv } from '../model/command';
import type { Run } from '../model/run';
import { loadRunCached } from '../store/run-cache';
import { damageCheckFile, damageCheckScript, receiptFile, updateEpochs, workspaceDataDir, writeFileIfChanged } from '../store/stage-state';
import { projectNameOf } from './names';

export const RUN_FILES = 'runs/*.{yaml,yml,toml}';

/** One project per stage instance of each run, plus one project per run. */
export const createNodes: CreateNodes = [
  RUN_FILES,
  async (files, _options, context): Promise<CreateNodesResultArray> => {
    // What createNodesFromFiles does, without loading @nx/devkit (0.4 s) into the worker.
    const results: CreateNodesResultArray = [];
    const errors: [string, Error][] = [];
    for (const file of files) {
      try {
        results.push([file, { projects: await runProjects(context.workspaceRoot, file) }]);
      } catch (e) {
        errors.push([file, e as Error]);
      }
    }
    if (errors.length) throw new AggregateCreateNodesError(errors, results);
    return results;
  },
];

interface StageProject {
  name: string;
  tags: string[];
  implicitDependencies?: string[];
  targets: Record<string, TargetConfiguration>;
}

export async function runProjects(wsRoot: string, file: string): Promise<Record<string, StageProject>> {
  const dataDir = workspaceDataDir(wsRoot);
  const { run, fingerprints } = await loadRunCached(wsRoot, file, dataDir);
  const epochs = updateEpochs(dataDir, run.name, fingerprints);
  const rel = (p: string) => posix.relative(wsRoot, p);
  const outputsOf = (name: string) => run.dag.stages.get(name)!.outputs.map((o) => posix.join(run.outputDir, o.path));
  const checkFile = damageCheckFile(dataDir, run.name);
  writeFileIfChanged(checkFile, damageCheckScript(run.stages.map((s) => ({ receipt: rel(receiptFile(dataDir, run.name, s)), outputs: outputsOf(s) }))));
  const damageCheck = { runtime: `sh ${shellQuote(rel(checkFile))}` };

  const projects: Record<string, StageProject> = {};
  const kept = new Set(run.stages);
  for (const name of run.stages) {
    const stage = run.dag.stages.get(name)!;
    const sources = [...run.dag.sources.get(name)!.values()];
    const inputs: TargetConfiguration['inputs'] = [
      ...stage.definitionFiles.map((f) => `{workspaceRoot}/${f}`),
      ...sources.filter((s) => s.kind === 'run-input' && !posix.isAbsolute(s.path)).map((s) => `{workspaceRoot}/${s.path}`),
      damageCheck,
    ];
    const r = stage.resources;
    const command = shellLine(renderArgv(run, name, (p) => (posix.isAbsolute(p) ? p : `{workspaceRoot}/${p}`)));
    projects[posix.join('runs', run.name, name)] = {
      name: projectNameOf(run.name, name),
      tags: [`run:${run.name}`, `pipeline:${stage.pipeline}`],
      implicitDependencies: run.dag.parents.get(name)!.filter((p) => kept.has(p)).map((p) => projectNameOf(run.name, p)),
      targets: {
        stage: {
          executor: 'nx-campaign:stage',
          options: { run: run.file, stage: name, fingerprint: fingerprints.get(name), epoch: epochs.get(name) },
          inputs,
          // Science outputs stay out of Nx's cache: see "Caching" in README.md.
          outputs: [],
          cache: run.resume === 'resume',
          dependsOn: ['^stage'],
          metadata: {
            description: `${command}\n(in ${stageCwd(run, name)}; ${r.ranks} rank(s) x ${r.threads} thread(s), ${formatMemory(r.memoryMB)}, ${formatDuration(r.runtimeSeconds)})`,
            technologies: ['nx-campaign'],
            campaign: {
              command,
              cwd: stageCwd(run, name),
              env: stageEnv(run, name, run.outputDir),
              inputs: sources.map((s) => (s.kind === 'stage' ? posix.join(run.outputDir, s.path) : s.path)),
              outputs: outputsOf(name),
              resources: { ranks: r.ranks, threads: r.threads, nodes: r.nodes, memory: formatMemory(r.memoryMB), runtime: formatDuration(r.runtimeSeconds) },
              config: stage.config,
              source: `${stage.source.file} (${formatKeyPath(stage.source.key)})`,
            },
          },
        },
      },
    };
  }
  projects[posix.join('runs', run.name)] = runProject(run);
  return projects;
}

function runProject(run: Run): StageProject {
  return {
    name: run.name,
    tags: ['campaign-run'],
    targets: {
      // The run's project folder does not exist: hash nothing from it.
      run: {
        executor: 'nx:noop',
        inputs: [],
        dependsOn: [{ projects: run.stages.map((s) => projectNameOf(run.name, s)), target: 'stage' }],
        metadata: { description: `Run every stage of ${run.file}`, technologies: ['nx-campaign'] },
      },
      'dry-run': {
        executor: 'nx-campaign:dry-run',
        options: { run: run.file },
        inputs: [],
        cache: false,
        metadata: { description: `Print each stage's command, folder, environment and resources; run nothing`, technologies: ['nx-campaign'] },
      },
      plan: {
        executor: 'nx-campaign:plan',
        options: { run: run.file },
        inputs: [],
        cache: false,
        metadata: { description: `Place each stage on the run's site (HEFT): nodes, start, end, walltime, QoS, makespan, deadline check; run nothing`, technologies: ['nx-campaign'] },
      },
      ...Object.fromEntries(
        (
          [
            ['report', 'Per stage, the state of its latest attempt, EXPECTED and TOTAL (--json, --diff)'],
            ['logs', 'The log of a stage (--stage=<stage>, --attempt=<n>)'],
            ['cancel', 'Stop the nx process running this run and cancel its jobs'],
            ['retry', 'Run again the stages that did not succeed'],
            ['clean', 'Remove intermediate outputs and archive the logs (--yes; a dry run without)'],
          ] as const
        ).map(([command, description]) => [command, { executor: 'nx-campaign:record', options: { run: run.file, command }, inputs: [], cache: false, metadata: { description, technologies: ['nx-campaign'] } }]),
      ),
    },
  };
}
