import { createNodesFromFiles, type CreateNodes, type TargetConfiguration } from '@nx/devkit';
import { posix } from 'node:path';
import { loadRun, type Run } from '../config/run';
import { stageFingerprints } from '../graph/fingerprint';
import { renderArgv, shellLine, stageEnv } from '../model/command';
import { formatDuration, formatMemory } from '../config/quantities';
import { damageCheckCommand, receiptFile, updateEpochs, workspaceDataDir } from '../store/stage-state';
import { projectNameOf } from './names';

export const RUN_FILES = 'runs/*.{yaml,yml}';

/** One project per stage instance of each run, plus one project per run. */
export const createNodes: CreateNodes = [
  RUN_FILES,
  (files, _options, context) => createNodesFromFiles((file) => ({ projects: runProjects(context.workspaceRoot, file) }), files, _options, context),
];

export function runProjects(wsRoot: string, file: string) {
  const run = loadRun(wsRoot, file);
  const dataDir = workspaceDataDir(wsRoot);
  const fingerprints = stageFingerprints(wsRoot, run);
  const epochs = updateEpochs(dataDir, run.name, fingerprints);
  const projects: Record<string, { name: string; tags: string[]; implicitDependencies?: string[]; targets: Record<string, TargetConfiguration>; metadata?: Record<string, unknown> }> = {};
  const kept = new Set(run.stages);
  for (const name of run.stages) {
    const stage = run.dag.stages.get(name)!;
    const receipt = posix.relative(wsRoot, receiptFile(dataDir, run.name, name));
    const outputs = stage.outputs.map((o) => posix.join(run.outputDir, o.path));
    const inputs: TargetConfiguration['inputs'] = [
      ...stage.definitionFiles.map((f) => `{workspaceRoot}/${f}`),
      ...[...run.dag.sources.get(name)!.values()].filter((s) => s.kind === 'run-input' && !posix.isAbsolute(s.path)).map((s) => `{workspaceRoot}/${s.path}`),
    ];
    if (outputs.length) inputs.push({ runtime: damageCheckCommand(receipt, outputs) });
    const r = stage.resources;
    const command = shellLine(renderArgv(run, name, (p) => (posix.isAbsolute(p) ? p : `{workspaceRoot}/${p}`)));
    const parents = run.dag.parents.get(name)!.filter((p) => kept.has(p));
    projects[posix.join('runs', run.name, name)] = {
      name: projectNameOf(run.name, name),
      tags: [`run:${run.name}`, `pipeline:${stage.pipeline}`],
      implicitDependencies: parents.map((p) => projectNameOf(run.name, p)),
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
            description: `${command}\n(in ${run.outputDir}; ${r.ranks} rank(s) x ${r.threads} thread(s), ${formatMemory(r.memoryMB)}, ${formatDuration(r.runtimeSeconds)})`,
            technologies: ['nx-campaign'],
            campaign: {
              command,
              cwd: run.outputDir,
              env: stageEnv(run, name, run.outputDir),
              inputs: [...run.dag.sources.get(name)!.values()].map((s) => (s.kind === 'stage' ? posix.join(run.outputDir, s.path) : s.path)),
              outputs,
              resources: { ranks: r.ranks, threads: r.threads, nodes: r.nodes, memory: formatMemory(r.memoryMB), runtime: formatDuration(r.runtimeSeconds) },
              config: stage.config,
              source: `${stage.source.file}:${stage.source.line ?? ''}`,
            },
          },
        },
      },
    };
  }
  projects[posix.join('runs', run.name)] = runProject(run);
  return projects;
}

function runProject(run: Run) {
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
    },
  };
}
