import type { CreateNodes, CreateNodesResultArray, TargetConfiguration } from '@nx/devkit';
import { AggregateCreateNodesError } from 'nx/src/project-graph/error-types';
import { posix } from 'node:path';
import { CampaignError, ConfigError } from '../format/errors';
import { sharedFolderProblems } from '../config/folders';
import { formatDuration, formatMemory } from '../format/quantities';
import { formatKeyPath } from '../format/yaml-file';
import { renderArgv, shellLine, shellQuote, stageCwd, stageEnv } from '../model/command';
import { runNameOf, type Run } from '../model/run';
import { loadRunCached, type LoadedRun } from '../store/run-cache';
import { damageCheckFile, damageCheckScript, receiptFile, updateEpochs, workspaceDataDir, writeFileIfChanged } from '../store/stage-state';
import { projectNameOf } from './names';

/** This project's runs, and lbg-pipelines' (configs/runs). */
export const RUN_FILES = '{runs,configs/runs}/*.{yaml,yml,toml}';

/** nx.json too: it makes the workspace's `campaign` project, whose targets read the whole record. */
export const PLUGIN_FILES = `{nx.json,${RUN_FILES}}`;

/**
 * The workspace's own project: the record's commands that are about every run. Its root is the
 * record's folder, not `.`: a root project would hold node_modules, and Nx would then load this
 * plugin's generators from their TypeScript sources as a local plugin's.
 */
function workspaceProject(): Record<string, StageProject> {
  const target = (command: 'serve' | 'status' | 'watch', description: string): TargetConfiguration => ({ executor: 'nx-campaign:workspace', options: { command }, inputs: [], cache: false, continuous: command === 'serve', metadata: { description, technologies: ['nx-campaign'] } });
  return {
    '.campaign': {
      name: 'campaign',
      tags: ['nx-campaign'],
      targets: {
        serve: target('serve', 'The web dashboard over the record, live (campaign serve; --port, --host, --token)'),
        status: target('status', 'Running and recent runs (campaign status; --all, --site)'),
        watch: target('watch', 'The overview in the terminal until the runs end (campaign watch; --run, --site)'),
      },
    },
  };
}

/**
 * One project per stage instance of each run, plus one project per run. A run file with a
 * configuration mistake becomes its run project alone, whose targets fail with the
 * mistake, so the other runs still list, graph and run; the mistake is printed once.
 */
export const createNodes: CreateNodes = [
  PLUGIN_FILES,
  async (allFiles, _options, context): Promise<CreateNodesResultArray> => {
    const files = allFiles.filter((f) => f !== 'nx.json');
    const root: CreateNodesResultArray = allFiles.includes('nx.json') ? [['nx.json', { projects: workspaceProject() }]] : [];
    // What createNodesFromFiles does, without loading @nx/devkit (0.4 s) into the worker.
    const errors: [string, Error][] = [];
    const mistakes = new Map<string, string>(); // run file -> its mistake
    const wsRoot = context.workspaceRoot;
    const dataDir = workspaceDataDir(wsRoot);
    const loaded = new Map<string, LoadedRun>();
    for (const file of files) {
      try {
        loaded.set(file, await loadRunCached(wsRoot, file, dataDir));
      } catch (e) {
        if (e instanceof CampaignError) mistakes.set(file, e.message);
        else errors.push([file, e as Error]);
      }
    }
    // Two runs in one folder would overwrite, damage and clean each other's files.
    for (const [file, problems] of sharedFolderProblems(wsRoot, [...loaded.values()].map((l) => l.run))) {
      mistakes.set(file, new ConfigError(problems).message);
      loaded.delete(file);
    }
    const results: CreateNodesResultArray = files.flatMap((file): CreateNodesResultArray => {
      const l = loaded.get(file);
      if (l) return [[file, { projects: projectsOf(wsRoot, l.run, l.fingerprints) }]];
      return mistakes.has(file) ? [[file, { projects: unloadableRunProjects(file) }]] : [];
    });
    const unloadable = new Map<string, string[]>(); // message -> the run files it stops
    for (const [file, message] of mistakes) unloadable.set(message, [...(unloadable.get(message) ?? []), file]);
    for (const [message, stopped] of unloadable) {
      const what = stopped.length === 1 ? `${stopped[0]} is not loaded (its run's targets fail until this is fixed)` : `${stopped.join(', ')} are not loaded (their runs' targets fail until this is fixed)`;
      pluginLog(`nx-campaign: ${what}:\n${message}`);
    }
    if (errors.length) throw new AggregateCreateNodesError(errors, [...root, ...results]);
    return [...root, ...results];
  },
];

/**
 * A warning on the nx command's stderr. Nx's channel for plugin logs: a plugin worker's own
 * stderr reaches the terminal only without the daemon (with it, the daemon's log file).
 */
function pluginLog(message: string): void {
  // Loaded only when needed: the plugin's entry stays light.
  const { emitPluginWorkerLog } = require('nx/src/project-graph/plugins/isolation/worker-streaming') as typeof import('nx/src/project-graph/plugins/isolation/worker-streaming');
  emitPluginWorkerLog('warn', message);
}

interface StageProject {
  name: string;
  tags: string[];
  implicitDependencies?: string[];
  targets: Record<string, TargetConfiguration>;
}

export async function runProjects(wsRoot: string, file: string): Promise<Record<string, StageProject>> {
  const { run, fingerprints } = await loadRunCached(wsRoot, file, workspaceDataDir(wsRoot));
  return projectsOf(wsRoot, run, fingerprints);
}

function projectsOf(wsRoot: string, run: Run, fingerprints: Map<string, string>): Record<string, StageProject> {
  const dataDir = workspaceDataDir(wsRoot);
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
            description: `${command}\n(in ${stageCwd(run, name)}; ${r.ranks} rank(s) x ${r.threads} thread(s), ${formatMemory(r.memoryMBPerNode)}, ${formatDuration(r.runtimeSeconds)})`,
            technologies: ['nx-campaign'],
            campaign: {
              command,
              cwd: stageCwd(run, name),
              env: stageEnv(run, name, run.outputDir),
              inputs: sources.map((s) => (s.kind === 'stage' ? posix.join(run.outputDir, s.path) : s.path)),
              outputs: outputsOf(name),
              resources: { ranks: r.ranks, threads: r.threads, nodes: r.nodes, memory: formatMemory(r.memoryMBPerNode), runtime: formatDuration(r.runtimeSeconds) },
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
  const project = runFileProject(run.name, run.file, ['campaign-run'], {
    // The run's project folder does not exist: hash nothing from it.
    run: {
      executor: 'nx:noop',
      inputs: [],
      dependsOn: [{ projects: run.stages.map((s) => projectNameOf(run.name, s)), target: 'stage' }],
      metadata: { description: `Run every stage of ${run.file}`, technologies: ['nx-campaign'] },
    },
  });
  // Edges to its stages: `nx graph` focused on the run shows all of them (campaign graph <run>).
  return { ...project, implicitDependencies: run.stages.map((s) => projectNameOf(run.name, s)) };
}

/**
 * The project of a run whose file does not load: `run`, and `stage` for
 * `nx run-many -t stage --projects=tag:run:<run>`, fail with the mistake; `dry-run`, `plan`,
 * `retry` and `clean` load the file and fail the same way; `report`, `logs` and `cancel` read
 * the record and still work.
 */
export function unloadableRunProjects(file: string): Record<string, StageProject> {
  const name = runNameOf(file);
  const fail: TargetConfiguration = {
    executor: 'nx-campaign:config-error',
    options: { run: file },
    inputs: [],
    cache: false,
    metadata: { description: `${file} does not load: print why and fail`, technologies: ['nx-campaign'] },
  };
  return { [posix.join('runs', name)]: runFileProject(name, file, ['campaign-run', `run:${name}`], { run: fail, stage: fail }) };
}

/** A run's project: `targets`, plus the targets every run has (dry-run, plan and the record's commands). */
function runFileProject(name: string, file: string, tags: string[], targets: Record<string, TargetConfiguration>): StageProject {
  return {
    name,
    tags,
    targets: {
      ...targets,
      'dry-run': {
        executor: 'nx-campaign:dry-run',
        options: { run: file },
        inputs: [],
        cache: false,
        metadata: { description: `Print each stage's command, folder, environment and resources; run nothing`, technologies: ['nx-campaign'] },
      },
      plan: {
        executor: 'nx-campaign:plan',
        options: { run: file },
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
        ).map(([command, description]) => [command, { executor: 'nx-campaign:record', options: { run: file, command }, inputs: [], cache: false, metadata: { description, technologies: ['nx-campaign'] } }]),
      ),
    },
  };
}
