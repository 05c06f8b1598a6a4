/** Nx project of a stage instance: `<run>.<stage>`. */
export function projectNameOf(run: string, stage: string): string {
  return `${run}.${stage}`;
}
