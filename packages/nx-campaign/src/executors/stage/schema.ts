import { type Backend } from '../../model/run';

export interface StageExecutorOptions {
  run: string;
  stage: string;
  fingerprint?: string;
  epoch?: string;
  /** Overrides the run file's `backend` and its site's. */
  backend?: Backend;
  /** SLURM: seconds between squeue calls. */
  pollInterval?: number;
  /** SLURM: on Ctrl-C or SIGTERM, leave submitted jobs running instead of cancelling them. */
  leaveRunning?: boolean;
}
