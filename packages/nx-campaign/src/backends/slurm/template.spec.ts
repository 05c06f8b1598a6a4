import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATE, renderSbatch, siteTemplatePath, stageTemplatePath, templateFor, type SbatchContext } from './template';
import { slurmTime } from '../../format/quantities';

const hostile = ['$(touch pwned)', '`touch pwned2`', "it's", 'a;b', 'line1\nline2', '', '"double"', '$HOME', '\\'];
const context = (dir: string, stage: Partial<SbatchContext['stage']> = {}): SbatchContext => ({
  job: { name: 'r.s', comment: 'nx-campaign:r', nodes: 1, ntasks: 1, cpusPerTask: 4, mem: '100M', time: '0-00:10:00', partition: 'debug', output: join(dir, 's.log') },
  stage: { name: 's', run: 'r', cwd: dir, argv: ['printf', '%s\\n', ...hostile], env: { HOSTILE: '$(touch pwned3)' }, outputs: [], srun: false, exitFile: join(dir, 's.exit'), ...stage },
});

describe('sbatch templates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-template-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('quotes every value: the script prints hostile arguments back unchanged and runs nothing', () => {
    const script = renderSbatch(DEFAULT_TEMPLATE, 'default', context(dir));
    expect(script).toMatch(/^#SBATCH --cpus-per-task=4$/m);
    expect(script).not.toMatch(/^#SBATCH --qos/m);
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, SLURM_JOB_ID: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').slice(1, -1).join('\n')).toBe(hostile.join('\n'));
    for (const f of ['pwned', 'pwned2', 'pwned3']) expect(() => writeFileSync(join(dir, f), '', { flag: 'wx' })).not.toThrow();
  });

  it('quotes names and paths in the lines it prints too: a hostile stage name or output path runs nothing', () => {
    const evil = (f: string) => join(dir, `$(touch ${join(dir, f)})\`touch ${join(dir, `${f}b`)}\``);
    const script = renderSbatch(DEFAULT_TEMPLATE, 'default', context(dir, { name: `s$(touch ${join(dir, 'pwned4')})`, run: '"r`touch pwned5`"', argv: ['true'], outputs: [{ final: evil('pwned6'), inProgress: evil('pwned7'), viaArgument: true }] }));
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, SLURM_JOB_ID: '1' } });
    expect(r.status).toBe(1); // the output was not written
    expect(r.stdout).toContain(`nx-campaign: exited 0 but did not write ${evil('pwned6')}`);
    expect(r.stdout).toContain(`# stage s$(touch ${join(dir, 'pwned4')}) of run "r\`touch pwned5\`", job 1 on`);
    for (const f of ['pwned4', 'pwned5', 'pwned6', 'pwned6b', 'pwned7', 'pwned7b']) expect(() => writeFileSync(join(dir, f), '', { flag: 'wx' })).not.toThrow();
  });

  it('refuses an environment variable name that is not one', () => {
    expect(() => renderSbatch(DEFAULT_TEMPLATE, 'default', context(dir, { env: { 'X=$(touch pwned8);Y': '1' } }))).toThrow(/is not a shell name/);
  });

  it('gives a value raw only through {{raw}}', () => {
    expect(renderSbatch('{{stage.argv.[2]}} {{{stage.argv.[2]}}} {{raw stage.argv.[2]}}', 't.hbs', context(dir))).toBe("'$(touch pwned)' '$(touch pwned)' $(touch pwned)");
  });

  it('names the template and the unknown field', () => {
    expect(() => renderSbatch('{{job.partitoin}}', 'sbatch/sites/x.hbs', context(dir))).toThrow(/sbatch\/sites\/x\.hbs:1: "partitoin" is not a field/);
  });

  it("takes the stage's template, else the site's, else the default", () => {
    const put = (file: string, text: string) => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    expect(templateFor(dir, 'tiger3', 'map').source).toBe(DEFAULT_TEMPLATE);
    put(siteTemplatePath('tiger3'), '#!/bin/bash\nmodule load soconda\n{{> run-stage}}\n');
    expect(templateFor(dir, 'tiger3', 'map').file).toBe('sbatch/sites/tiger3.hbs');
    put(stageTemplatePath('map'), '#!/bin/bash\n#SBATCH --constraint=gpu\n{{> run-stage}}\n');
    expect(templateFor(dir, 'tiger3', 'map').file).toBe('sbatch/stages/map.hbs');
    expect(templateFor(dir, 'tiger3', 'coadd').file).toBe('sbatch/sites/tiger3.hbs');
  });

  it('writes walltimes as D-HH:MM:SS', () => {
    expect(slurmTime(90)).toBe('0-00:01:30');
    expect(slurmTime(135 * 60)).toBe('0-02:15:00');
    expect(slurmTime(2 * 86400 + 3661)).toBe('2-01:01:01');
  });
});
