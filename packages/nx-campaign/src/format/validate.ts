import { fromZodIssue } from 'zod-validation-error';
import type { z } from 'zod';
import { ConfigError, type Problem } from './errors';
import { formatKeyPath, type KeyPath, type YamlFile } from './yaml-file';

/** Parse `value` (found at `base` in `source`) with `schema`, or throw every problem with its line. */
export function validate<T extends z.ZodType>(schema: T, source: YamlFile, value: unknown, base: KeyPath, fix: (key: string) => string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems: Problem[] = result.error.issues.map((issue) => {
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [...base, ...(issue.path as (string | number)[]), ...unknownKeys.slice(0, 1)];
    const key = formatKeyPath(path);
    const message = fromZodIssue(issue, { prefix: null, includePath: false }).message;
    return { file: source.file, line: source.lineOf(path), key, message, fix: unknownKeys.length ? `remove or rename ${unknownKeys.map((k) => `"${k}"`).join(', ')}; ${fix(key)}` : fix(key) };
  });
  throw new ConfigError(problems);
}
