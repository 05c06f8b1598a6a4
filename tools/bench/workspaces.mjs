// Throw-away workspaces for tools/bench-local.mjs: ours (nx-campaign run files) and the
// plain-Nx baselines (project.json / package.json projects), all under os.tmpdir().
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RESOURCES = { ranks: 1, threads: 1, memory: '100M', runtime: '1m' };

const pad = (i, w = 3) => String(i).padStart(w, '0');

/**
 * A fan-out DAG as a list of {name, command, depends, inputs, outputs}: 1 prep -> n split ->
 * n map (map_i depends on split_i) -> 1 final depending on all maps. Each stage writes one small file.
 */
export function fanOutDag(n) {
  const w = Math.max(3, String(n - 1).length);
  const stages = [{ name: 'prep', command: 'echo prep > prep.txt', depends: [], inputs: [], outputs: ['prep.txt'] }];
  for (let i = 0; i < n; i++) {
    const s = `split_${pad(i, w)}`;
    stages.push({ name: s, command: `echo ${i} > ${s}.txt`, depends: ['prep'], inputs: ['prep.txt'], outputs: [`${s}.txt`] });
  }
  for (let i = 0; i < n; i++) {
    const s = `split_${pad(i, w)}`;
    const m = `map_${pad(i, w)}`;
    stages.push({ name: m, command: `echo ${i} > ${m}.txt`, depends: [s], inputs: [`${s}.txt`], outputs: [`${m}.txt`] });
  }
  const maps = stages.filter((s) => s.name.startsWith('map_'));
  stages.push({ name: 'final', command: 'echo final > final.txt', depends: maps.map((s) => s.name), inputs: maps.map((s) => s.outputs[0]), outputs: ['final.txt'] });
  return stages;
}

/** 1 prep -> (total - 2) independent stages -> 1 final: `total` stages in all. */
export function wideDag(total) {
  const n = total - 2;
  const w = Math.max(4, String(n - 1).length);
  const stages = [{ name: 'prep', command: 'echo prep > prep.txt', depends: [], inputs: [], outputs: ['prep.txt'] }];
  for (let i = 0; i < n; i++) {
    const s = `s_${pad(i, w)}`;
    stages.push({ name: s, command: `echo ${i} > ${s}.txt`, depends: ['prep'], inputs: ['prep.txt'], outputs: [`${s}.txt`] });
  }
  const mids = stages.slice(1);
  stages.push({ name: 'final', command: 'echo final > final.txt', depends: mids.map((s) => s.name), inputs: mids.map((s) => s.outputs[0]), outputs: ['final.txt'] });
  return stages;
}

/** `count` independent stages, each writing `bytes` zero bytes with head -c. */
export function bigOutputDag(count, bytes) {
  return Array.from({ length: count }, (_, i) => ({ name: `big_${i}`, command: `head -c ${bytes} /dev/zero > big_${i}.bin`, depends: [], inputs: [], outputs: [`big_${i}.bin`] }));
}

const q = (s) => JSON.stringify(s); // a YAML double-quoted scalar is a JSON string

/** pipelines/<name>/pipeline.yaml text in the socm DAG dialect. */
export function socmPipelineYaml(stages) {
  const lines = ['stages:'];
  for (const s of stages) {
    lines.push(`  ${s.name}:`);
    lines.push('    executable: sh');
    lines.push(`    script-args: ["-c", ${q(s.command)}]`);
    lines.push(`    depends: ${s.depends.length ? `[${s.depends.join(', ')}]` : 'null'}`);
    if (s.inputs.length) lines.push(`    inputs: [${s.inputs.join(', ')}]`);
    lines.push(`    outputs: [${s.outputs.join(', ')}]`);
    lines.push(`    resources: {ranks: ${RESOURCES.ranks}, threads: ${RESOURCES.threads}, memory: ${RESOURCES.memory}, runtime: ${RESOURCES.runtime}}`);
  }
  return `${lines.join('\n')}\n`;
}

export function git(ws) {
  const r = spawnSync('git', ['init', '-q', ws], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git init ${ws} failed: ${r.stderr}`);
}

/** A bare workspace: package.json, nx.json, git init, node_modules -> the repo's. */
export function newWorkspace(repoRoot, label, { plugin, packageJson = { name: 'bench', private: true } }) {
  const ws = mkdtempSync(join(tmpdir(), `nx-campaign-bench-${label}-`));
  writeFileSync(join(ws, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  writeFileSync(join(ws, 'nx.json'), `${JSON.stringify(plugin ? { plugins: ['nx-campaign'] } : {}, null, 2)}\n`);
  writeFileSync(join(ws, '.gitignore'), 'node_modules\n.nx\nresults\nout\n');
  symlinkSync(join(repoRoot, 'node_modules'), join(ws, 'node_modules'), 'dir');
  git(ws);
  return ws;
}

/** Our side: one run `runName` of pipeline `runName` holding `stages`. Outputs go to results/<run>/outputs. */
export function campaignWorkspace(repoRoot, label, runName, stages) {
  const ws = newWorkspace(repoRoot, label, { plugin: true });
  mkdirSync(join(ws, 'pipelines', runName), { recursive: true });
  writeFileSync(join(ws, 'pipelines', runName, 'pipeline.yaml'), socmPipelineYaml(stages));
  mkdirSync(join(ws, 'runs'), { recursive: true });
  writeFileSync(join(ws, 'runs', `${runName}.yaml`), `pipelines: ${runName}\n`);
  return { ws, run: runName, outputDir: join(ws, 'results', runName, 'outputs'), runFile: `runs/${runName}.yaml` };
}

/**
 * Baseline: the same DAG as plain Nx projects, one project.json each under p/<stage>,
 * `nx:run-commands` in the shared output folder `out`, cached with its output declared.
 */
export function runCommandsWorkspace(repoRoot, label, stages, target = 'stage') {
  const ws = newWorkspace(repoRoot, label, { plugin: false });
  for (const s of stages) {
    const dir = join(ws, 'p', s.name);
    mkdirSync(dir, { recursive: true });
    const project = {
      name: s.name,
      root: `p/${s.name}`,
      implicitDependencies: s.depends,
      targets: {
        [target]: {
          executor: 'nx:run-commands',
          options: { command: `sh -c ${shq(s.command)}`, cwd: 'out' },
          outputs: s.outputs.map((o) => `{workspaceRoot}/out/${o}`),
          cache: true,
          dependsOn: [`^${target}`],
        },
      },
    };
    writeFileSync(join(dir, 'project.json'), `${JSON.stringify(project, null, 2)}\n`);
  }
  mkdirSync(join(ws, 'out'), { recursive: true });
  return { ws, outputDir: join(ws, 'out'), projects: stages.map((s) => s.name) };
}

const shq = (s) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Baseline for graph creation: `count` trivial package.json projects under packages/*, inferred by Nx. */
export function packageJsonWorkspace(repoRoot, label, count) {
  const ws = newWorkspace(repoRoot, label, { plugin: false, packageJson: { name: 'bench', private: true, workspaces: ['packages/*'] } });
  for (let i = 0; i < count; i++) {
    const name = `p${pad(i, 4)}`;
    mkdirSync(join(ws, 'packages', name), { recursive: true });
    writeFileSync(join(ws, 'packages', name, 'package.json'), `${JSON.stringify({ name, scripts: { build: 'echo' } })}\n`);
  }
  return { ws };
}

export function removeWorkspace(ws) {
  rmSync(ws, { recursive: true, force: true });
}
