import type { Attempt, Backend, Reattached, Report } from '../../engine/backend';
import { isBpsStage } from './index';

/**
 * A run's backend with its BPS-mode groups sent to BPS: each call goes to the backend of the
 * attempts it names. Attempts start when their parents ended (no afterok across the two).
 */
export function withBps(primary: Backend, bps: Backend): Backend {
  const of = (a: Attempt) => (isBpsStage(a) ? bps : primary);
  const split = (list: Attempt[]) => [list.filter((a) => !isBpsStage(a)), list.filter(isBpsStage)] as const;
  const pollBoth = async (p: Attempt[], b: Attempt[]) => [...(p.length ? await primary.poll(p, false) : []), ...(b.length ? await bps.poll(b, false) : [])];
  return {
    name: primary.name,
    submitsAhead: false,
    plans: primary.plans,
    planSite: primary.planSite,
    check: (attempts) => primary.check?.(split(attempts)[0]),
    largestNodeMB: (a) => of(a).largestNodeMB(a),
    claim: (a) => of(a).claim?.(a) ?? true,
    release: (a) => of(a).release?.(a),
    submit: (a, waitsOn, parentsFinal) => of(a).submit(a, [], parentsFinal),
    retriesItself: (a) => of(a).retriesItself?.(a) ?? false,
    async poll(active, wait): Promise<Report[]> {
      const [p, b] = split(active);
      if (!b.length) return primary.poll(p, wait);
      if (!p.length) return bps.poll(b, wait);
      // Both: neither may block the other; a short nap between rounds.
      const r = await pollBoth(p, b);
      if (r.length || !wait) return r;
      await new Promise((resolve) => setTimeout(resolve, 250));
      return pollBoth(p, b);
    },
    async cancel(attempts) {
      const [p, b] = split(attempts);
      if (p.length) await primary.cancel(p);
      if (b.length) await bps.cancel(b);
    },
    async reattach(earlier, known) {
      const out = new Map<string, Reattached>();
      for (const [backend, list] of [[primary, earlier.filter((e) => !isBpsStage(e.attempt))], [bps, earlier.filter((e) => isBpsStage(e.attempt))]] as const) {
        if (!list.length) continue;
        const got = backend.reattach ? await backend.reattach(list, known) : new Map(list.flatMap((e) => (e.jobId ? [[e.attempt.key, { adopt: false, state: 'interrupted', why: 'its backend does not re-attach' } as Reattached]] : [])));
        for (const [k, v] of got) out.set(k, v);
      }
      return out;
    },
    submittedAll: (attempts) => primary.submittedAll?.(split(attempts)[0]),
    recorded: (a) => of(a).recorded?.(a),
    async close() {
      await primary.close?.();
      await bps.close?.();
    },
  };
}
