/**
 * One line on how far a set of stages has got: done / running / queued / failed (and skipped),
 * and an estimate of the time left from the pace so far. Printed at most every `everyMs` and only
 * when something changed, as a plain line (it reads the same in a terminal, a log and CI).
 */
import { formatDuration } from '../format/quantities';
import type { StageResult } from '../store/result';

type State = 'queued' | 'running' | 'done' | 'failed' | 'skipped';

export class Progress {
  private readonly states = new Map<string, State>();
  private readonly started: number;
  private lastPrinted: number;
  private changed = false;

  constructor(
    keys: string[],
    private readonly print: (line: string) => void,
    private readonly everyMs = 5000,
    /** Milliseconds on a monotonic clock: a jump of the wall clock does not change the estimate. */
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const k of keys) this.states.set(k, 'queued');
    this.started = this.lastPrinted = now();
  }

  /** An attempt of `key` is queued (submitted, pending) or running. */
  attempt(key: string, state: 'queued' | 'running'): void {
    this.set(key, state);
  }

  ended(key: string, status: StageResult['status']): void {
    this.set(key, status === 'success' ? 'done' : status === 'failure' ? 'failed' : 'skipped');
  }

  /** Print the line if it is time and something changed since the last one. */
  tick(): void {
    const t = this.now();
    if (!this.changed || t - this.lastPrinted < this.everyMs) return;
    this.lastPrinted = t;
    this.changed = false;
    this.print(this.line());
  }

  line(): string {
    const n: Record<State, number> = { queued: 0, running: 0, done: 0, failed: 0, skipped: 0 };
    for (const s of this.states.values()) n[s]++;
    const total = this.states.size;
    const ended = n.done + n.failed + n.skipped;
    const elapsed = (this.now() - this.started) / 1000;
    const left = ended > 0 && ended < total ? `; about ${formatDuration(Math.max(1, Math.round((elapsed * (total - ended)) / ended)))} left` : '';
    return `progress: ${n.done}/${total} done, ${n.running} running, ${n.queued} queued, ${n.failed} failed${n.skipped ? `, ${n.skipped} skipped` : ''}${left}`;
  }

  private set(key: string, state: State): void {
    if (!this.states.has(key) || this.states.get(key) === state) return;
    this.states.set(key, state);
    this.changed = true;
  }
}
