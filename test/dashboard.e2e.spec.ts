/**
 * The dashboard (`campaign serve`) in a real browser (playwright-core driving Debian's chromium)
 * against a real record filled by real runs: local ones, a failing one, and one on the test
 * SLURM. Screenshots of each page go to test-results/dashboard/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addRun, campaign, chromiumStatus, copyWorkspace, describeBrowser, itSlurm, nxEnv, readFile, removeWorkspace, repoRoot, runStages, slurm, pythonStage, slurmWorkspace, startNx, writeFile } from './workspace';

const SHOTS = join(repoRoot, 'test-results', 'dashboard');

const BROKEN = [
  pythonStage('prepare', "open('a.txt', 'w').write('a')", { outputs: ['a.txt'] }),
  pythonStage('fit', "import sys; print('reading a.txt'); print('fit did not converge after 50 iterations', file=sys.stderr); sys.exit(3)", { depends: ['prepare'], inputs: ['a.txt'], outputs: ['b.txt'] }),
  pythonStage('plot', "open('c.txt', 'w').write('c')", { depends: ['fit'], inputs: ['b.txt'], outputs: ['c.txt'] }),
];

const SLOW = [
  pythonStage('first', "import time; time.sleep(2); open('a.txt', 'w').write('a')", { outputs: ['a.txt'] }),
  pythonStage('second', "import time; time.sleep(2); open('b.txt', 'w').write('b')", { depends: ['first'], inputs: ['a.txt'], outputs: ['b.txt'] }),
];

interface Server {
  url: string;
  token?: string;
  child: ChildProcess;
}

/** `campaign serve` in `ws` on a free port; resolves with the address it printed. */
function serve(ws: string, args: string[] = []): Promise<Server> {
  const child = spawn(join(repoRoot, 'node_modules', '.bin', 'campaign'), ['serve', '--port', '0', ...args], { cwd: ws, env: nxEnv });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`campaign serve printed no address in 20 s: ${out}`)), 20_000);
    child.stderr!.on('data', (d) => (out += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(t);
      const u = new URL(m[1]);
      resolve({ url: `${u.protocol}//${u.host}`, token: u.searchParams.get('token') ?? undefined, child });
    });
    child.on('exit', (code) => reject(new Error(`campaign serve exited ${code}: ${out}`)));
  });
}

const cell = (page: Page, row: string, column: string) =>
  page.evaluate(([r, c]) => {
    const table = document.querySelector(r)!.closest('table')!;
    const i = [...table.querySelectorAll('thead th')].findIndex((th) => th.textContent === c);
    return i < 0 ? undefined : document.querySelector(r)!.querySelectorAll('td')[i]?.textContent;
  }, [row, column] as const);

describeBrowser('the dashboard, in a browser', () => {
  let ws: string;
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ws = slurm.available ? slurmWorkspace() : copyWorkspace();
    mkdirSync(SHOTS, { recursive: true });
    addRun(ws, 'broken', BROKEN);
    addRun(ws, 'slow', SLOW);
    expect(runStages(ws, 'photoz-sim').status).toBe(0);
    expect(runStages(ws, 'broken').status).not.toBe(0);
    if (slurm.available) {
      writeFile(ws, 'runs/ps-slurm.yaml', `${readFile(ws, 'runs/pspipe-demo.yaml').replaceAll('pspipe-demo', 'ps-slurm')}site: testslurm\n`);
      const r = runStages(ws, 'ps-slurm', ['--pollInterval=1']);
      expect(r.status, r.out).toBe(0);
    }
    server = await serve(ws);
    browser = await chromium.launch({ executablePath: chromiumStatus.path, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    page.on('pageerror', (e) => {
      throw e;
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    server?.child.kill('SIGTERM');
    removeWorkspace(ws);
  });

  it('lists the runs, running and recent first, with their counts of stage states', async () => {
    await page.goto(`${server.url}/`);
    const runs = await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.run));
    expect(runs).toEqual(expect.arrayContaining(['photoz-sim', 'broken']));
    expect(await cell(page, 'tr[data-run="broken"]', 'SUCCEEDED')).toBe('1');
    expect(await cell(page, 'tr[data-run="broken"]', 'FAILED')).toBe('1');
    expect(await cell(page, 'tr[data-run="broken"]', 'PRUNED')).toBe('1');
    expect(await cell(page, 'tr[data-run="broken"]', 'EXPECTED')).toBe('3');
    expect(await cell(page, 'tr[data-run="photoz-sim"]', 'SUCCEEDED')).toBe('5');
    await page.screenshot({ path: join(SHOTS, 'runs.png'), fullPage: true });
  });

  it("shows a run's counts, its failure grouped by cause with the log's last lines, its DAG and planned against actual", async () => {
    await page.goto(`${server.url}/runs/broken`);
    expect(await cell(page, '#counts tr[data-group="TOTAL"]', 'FAILED')).toBe('1');
    expect(await cell(page, '#counts tr[data-group="TOTAL"]', 'EXPECTED')).toBe('3');
    const failure = page.locator('details.failure[data-cause="exit code 3"]');
    await expect.poll(() => failure.count()).toBe(1);
    expect(await failure.locator('pre.log-tail').textContent()).toContain('fit did not converge after 50 iterations');
    expect(await page.locator('svg.dag g.node').evaluateAll((g) => g.map((n) => `${(n as SVGElement).dataset.node}:${(n as SVGElement).dataset.state}`))).toEqual(['prepare:succeeded', 'fit:failed', 'plot:pruned']);
    expect(await page.locator('svg.gantt rect.planned').count()).toBe(3);
    expect(await page.locator('svg.gantt rect.actual[data-state="failed"]').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'run-failed.png'), fullPage: true });
    await page.goto(`${server.url}/runs/photoz-sim`);
    await page.screenshot({ path: join(SHOTS, 'run.png'), fullPage: true });
  });

  it("shows a stage's attempts, command and log, searches the log and downloads it", async () => {
    await page.goto(`${server.url}/runs/broken/stages/fit`);
    const row = page.locator('#attempts tr[data-attempt="1"]');
    expect(await row.getAttribute('data-state')).toBe('failed');
    expect(await page.locator('#attempts tr.why').first().textContent()).toBe('why it ran: first run');
    expect(await page.locator('#why-now').textContent()).toBe('now: runs on the next nx run-many: its last attempt (1) did not succeed: failed, exit 3');
    expect(await page.locator('pre.command').textContent()).toContain("sys.exit(3)");
    expect(await page.locator('#log').textContent()).toContain('fit did not converge');
    await page.screenshot({ path: join(SHOTS, 'stage.png'), fullPage: true });
    await page.goto(`${server.url}/runs/broken/stages/fit/attempts/1/log?q=CONVERGE`);
    // The command line in the log's header, and the message.
    const found = (await page.locator('#log').textContent())!.trim().split('\n');
    expect(found).toEqual([expect.stringMatching(/^\d+# command: python3 -c .*converge/), expect.stringMatching(/^\d+fit did not converge after 50 iterations$/)]);
    const download = await fetch(`${server.url}/runs/broken/stages/fit/attempts/1/log?download=1`);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="fit.1.log"');
    expect(await download.text()).toContain('reading a.txt');
  });

  it('updates without a reload, within 2 s of the record changing', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.querySelector('main')?.getAttribute('sse-connect') && (window as unknown as { htmx?: unknown }).htmx);
    const nx = startNx(ws, 'slow');
    await page.locator('tr[data-run="slow"]').waitFor({ timeout: 60_000 });
    expect(await nx.exited).toBe(0);
    const exited = Date.now();
    await page.locator('tr[data-run="slow"][data-state="done"]').waitFor({ timeout: 10_000 });
    expect(Date.now() - exited).toBeLessThan(2000);
    expect(await cell(page, 'tr[data-run="slow"]', 'SUCCEEDED')).toBe('2');
    // Swapped in by htmx, not loaded: the page was never navigated again.
    expect(Number(await page.evaluate(() => document.body.dataset.swaps))).toBeGreaterThan(0);
  }, 90_000);

  itSlurm("filters by site: only the SLURM site's run, with its job ids", async () => {
    await page.goto(`${server.url}/?site=testslurm`);
    expect(await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.run))).toEqual(['ps-slurm']);
    await page.goto(`${server.url}/?site=local`);
    expect(await page.locator('tr.run[data-run="ps-slurm"]').count()).toBe(0);
    await page.goto(`${server.url}/runs/ps-slurm?site=testslurm`);
    expect(await cell(page, '#counts tr[data-group="TOTAL"]', 'SUCCEEDED')).toBe('4');
    const jobs = await page.locator('#stages tr td:nth-child(5)').allTextContents();
    expect(jobs.every((j) => /^\d+$/.test(j))).toBe(true);
    await page.goto(`${server.url}/runs/ps-slurm/stages/spectra?site=testslurm`);
    expect(await page.locator('pre.script').textContent()).toMatch(/#SBATCH/);
    await page.screenshot({ path: join(SHOTS, 'run-slurm-stage.png'), fullPage: true });
    await page.goto(`${server.url}/runs/photoz-sim?site=testslurm`);
    expect(await page.locator('.run-page .empty').textContent()).toMatch(/ran on site local, not testslurm/);
  });

  it('serves only what the record holds, changes nothing, and sends a Content-Security-Policy with no inline script', async () => {
    const record = join(ws, '.campaign', 'record.sqlite');
    const before = createHash('sha256').update(readFileSync(record)).digest('hex');
    for (const path of ['/runs/..%2F..%2Fetc/stages/passwd/attempts/1/log', '/runs/broken/stages/..%2F..%2F..%2Fetc%2Fpasswd/attempts/1/log', '/static/..%2Fpackage.json', '/runs/broken/stages/fit/attempts/1%2F..%2F..%2F/log']) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(await r.text(), path).not.toMatch(/root:x:0|"name"/);
    }
    const post = await fetch(`${server.url}/runs/broken`, { method: 'POST' });
    expect(post.status).toBe(405);
    const r = await fetch(`${server.url}/runs/broken`);
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await r.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(createHash('sha256').update(readFileSync(record)).digest('hex')).toBe(before);
    expect(campaign(ws, ['status']).status).toBe(0);
  });

  it("campaign graph prints the address of Nx's graph showing the run's stages flat, focused on the run", async () => {
    const port = String(4300 + Math.floor(Math.random() * 600));
    const child = spawn(join(repoRoot, 'node_modules', '.bin', 'campaign'), ['graph', 'photoz-sim', '--port', port], { cwd: ws, env: nxEnv });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`no address in 60 s: ${out}`)), 60_000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /: (http:\/\/\S+rawGraph=\S+)/.exec(out);
          if (m) (clearTimeout(t), resolve(m[1]));
        });
        child.stderr.on('data', (d) => (out += d));
      });
      expect(JSON.parse(decodeURIComponent(new URL(url).searchParams.get('rawGraph')!))).toEqual({ config: { mode: 'individual' }, state: { type: 'focused', nodeId: 'project-photoz-sim' } });
      await page.goto(url);
      await page.getByText('Remove focus').waitFor({ timeout: 30_000 });
      await page.waitForTimeout(1500); // the layout settles
      await page.screenshot({ path: join(SHOTS, 'nx-graph-run.png') });
    } finally {
      child.kill('SIGTERM');
    }
  }, 90_000);

  it('on any host but the loopback one, refuses a request without its token', async () => {
    const open = await serve(ws, ['--host', '0.0.0.0']);
    try {
      expect(open.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const port = new URL(open.url).port;
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/`)).status).toBe(401);
      expect((await fetch(`${base}/?token=wrong-token-of-the-same-len`)).status).toBe(401);
      expect((await fetch(`${base}/runs/broken/stages/fit/attempts/1/log?download=1`)).status).toBe(401);
      const ok = await fetch(`${base}/?token=${open.token}`);
      expect(ok.status).toBe(200);
      const cookie = ok.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/i);
      expect((await fetch(`${base}/runs/broken`, { headers: { cookie: cookie.split(';')[0] } })).status).toBe(200);
      expect((await fetch(`${base}/events`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    } finally {
      open.child.kill('SIGTERM');
    }
    // The loopback server refuses a request naming another host (DNS rebinding).
    const status = await new Promise<number | undefined>((resolve, reject) => get(`${server.url}/`, { headers: { host: 'evil.example' } }, (res) => resolve(res.statusCode)).on('error', reject));
    expect(status).toBe(403);
  });
});
