export interface StageExecutorOptions {
  run: string;
  stage: string;
  fingerprint?: string;
  epoch?: string;
}
