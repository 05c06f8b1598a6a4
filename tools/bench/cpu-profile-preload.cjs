// Preloaded with NODE_OPTIONS="--require .../cpu-profile-preload.cjs" by `bench-local.mjs --profile`
// (Node 20 refuses --cpu-prof in NODE_OPTIONS): profiles every Node process Nx starts (main,
// plugin workers, batch executor) and writes BENCH_CPU_PROF_DIR/<role>-<pid>.cpuprofile at exit.
const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const inspector = require('node:inspector');
  const { mkdirSync, writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (err, res) => {
      if (err || !res) return;
      const script = (process.argv[1] ?? 'node').split('/').slice(-3).join('_').replace(/[^A-Za-z0-9_.-]/g, '_');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${script}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on('exit', write);
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      write();
      // Only take over the signal when nobody else listens: then do what the default would.
      if (process.listenerCount(sig) === 1) process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
    });
  }
}
