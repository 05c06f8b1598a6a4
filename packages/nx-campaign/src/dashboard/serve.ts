/** Start the dashboard's HTTP server and say where it is. */
import { serve as listen } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { CampaignError } from '../format/errors';
import { dashboard, type ServeOptions } from './server';

export const DEFAULT_PORT = 4300;

/** Resolves when the server stops (SIGINT, SIGTERM, or `signal`). */
export async function serveDashboard(o: ServeOptions & { print: (line: string) => void; signal?: AbortSignal }): Promise<void> {
  const d = dashboard(o);
  const server = listen({ fetch: d.app.fetch, hostname: o.host, port: o.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (e: NodeJS.ErrnoException) => {
      d.close();
      reject(e.code === 'EADDRINUSE' ? new CampaignError(`port ${o.port} on ${o.host} is in use\n  fix: campaign serve --port <another>`) : e.code === 'EADDRNOTAVAIL' ? new CampaignError(`${o.host} is not an address of this machine\n  fix: --host 127.0.0.1 (the default), or one of this machine's addresses`) : e);
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${shown}:${port}/${d.token ? `?token=${d.token}` : ''}`;
  o.print(`nx-campaign dashboard (read-only) at ${url}`);
  if (d.token) o.print(`anyone who can reach ${o.host}:${port} needs the token above; keep it private`);
  else o.print(`only this machine can open it; from a laptop: ssh -L ${port}:127.0.0.1:${port} <this host>, then open http://127.0.0.1:${port}/`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      // Open event streams would hold close() forever.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    o.signal?.addEventListener('abort', stop, { once: true });
  });
  d.close();
}
