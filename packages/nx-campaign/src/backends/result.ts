/** What every backend reports for a stage, as soon as it is known. */
export interface StageResult {
  status: 'success' | 'failure' | 'skipped';
  /** One line for the user: why it failed or was skipped, or where its log is. */
  message: string;
  /** Captured output (its tail for long logs). */
  output: string;
  logFile?: string;
  seconds?: number;
}
