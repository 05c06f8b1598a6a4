import type { AttemptState } from './record';

/**
 * Why an attempt failed, for retries and reports: the program itself (`science`, its exit code),
 * what it was given (`resources`: memory, time), the machinery around it (`infrastructure`: a
 * node, the scheduler, a full file system, a job lost or cancelled outside nx), or nothing ran
 * (`pre-flight`: checks, pre_script, refused outputs, not submitted).
 */
export type FailureClass = 'science' | 'resources' | 'infrastructure' | 'pre-flight';

/** What every backend reports for a stage, as soon as it is known. */
export interface StageResult {
  status: 'success' | 'failure' | 'skipped';
  /** One line for the user: why it failed or was skipped, or where its log is. */
  message: string;
  /** For a failure, the tail of its log. */
  output: string;
  logFile?: string;
  seconds?: number;
  /** For the record: the precise end state (default from status), exit code, start time, peak memory. */
  state?: AttemptState;
  exitCode?: number;
  startedAt?: string;
  peakMemoryMB?: number;
  /** Set on every failure. */
  failureClass?: FailureClass;
}

/** A stage whose outputs on disk were made by its current configuration: reported done, not run. */
export const UP_TO_DATE: StageResult = { status: 'success', message: 'up to date: its outputs on disk were made by this configuration', output: '' };
