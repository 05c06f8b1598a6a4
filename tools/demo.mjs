#!/usr/bin/env node
// The demo campaign: both photo-z runs, the ceci pipeline of Python stage classes (wlgc), the
// power-spectrum run, the socm TOML campaign (ML mapmaking and null tests) and the LoVoCCS-like
// Rubin campaign, end to end on this machine through `nx run-many`, then where their outputs
// and logs are. The stand-ins (pipelines/so/bin, pipelines/rubin/bin) go first on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = ['photoz-sim', 'photoz-observed', 'wlgc', 'pspipe-demo', 'so-nulltests', 'lovoccs-a85'];
const nx = join(root, 'node_modules', '.bin', 'nx');
const args = ['run-many', '-t', 'stage', `--projects=${runs.map((r) => `tag:run:${r}`).join(',')}`, '--outputStyle=static', ...process.argv.slice(2)];
console.log(`$ nx ${args.join(' ')}`);
const PATH = `${join(root, 'pipelines', 'so', 'bin')}:${join(root, 'pipelines', 'rubin', 'bin')}:${process.env.PATH}`;
// The stand-in bps numbers its workflows here, not in ~/.lsst-standin.
const r = spawnSync(nx, args, { cwd: root, stdio: 'inherit', env: { NX_NO_CLOUD: 'true', NX_TUI: 'false', BPS_STANDIN_HOME: join(root, 'results', '.bps-standin'), ...process.env, PATH } });
if (r.status !== 0) process.exit(r.status ?? 1);

console.log('\nDemo campaign complete.');
for (const run of runs) {
  console.log(`  ${run}: outputs in results/${run}/outputs, logs in results/${run}/logs`);
}
const metrics = (run) => join(root, 'results', run, 'outputs', 'metrics.json');
for (const run of ['photoz-sim', 'photoz-observed']) {
  if (!existsSync(metrics(run))) continue;
  const m = JSON.parse(readFileSync(metrics(run), 'utf8'));
  console.log(`  ${run}: photo-z sigma_NMAD ${m.sigma_nmad.toFixed(4)}, bias ${m.bias.toFixed(4)}, outliers ${(100 * m.outlier_fraction).toFixed(1)}% of ${m.n}`);
}
console.log('  so-nulltests: maps in results/so-nulltests/maps (full/ and null/<test>_split_<k>/)');
console.log('  lovoccs-a85: datasets in the butler repository data/rubin/repo (u/demo/a85/<step>/<group>); npx campaign report lovoccs-a85');
console.log('Watch and inspect: npx campaign serve (the dashboard, http://127.0.0.1:4300/), npx campaign watch, npx campaign why photoz-sim');
console.log('Run it again: every stage comes from the cache. See README.md for more.');
