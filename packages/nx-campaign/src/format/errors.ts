/** A mistake in the user's input: printed without a stack trace. */
export class CampaignError extends Error {
  override name = 'CampaignError';
}

export interface Location {
  file: string;
  line?: number;
  key?: string;
}

/** One located problem in a configuration file. */
export interface Problem extends Location {
  message: string;
  fix?: string;
  /**
   * What kind of problem, for callers that treat one kind apart: `absent` is something the file
   * names (a ceci stage module, a stages config) that is not on this machine, not a mistake in it.
   */
  code?: 'absent';
}

export function formatProblem(p: Problem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  // A key is the user's text (a stage name may hold a line break): printed on the problem's line.
  const key = p.key ? ` (${p.key.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))})` : '';
  const fix = p.fix ? `\n  fix: ${p.fix}` : '';
  return `${where}${key}: ${p.message}${fix}`;
}

/** One or more located problems, reported together. */
export class ConfigError extends CampaignError {
  override name = 'ConfigError';
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function configError(p: Problem): ConfigError {
  return new ConfigError([p]);
}
