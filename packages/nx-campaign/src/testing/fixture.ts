import { ConfigError, type Problem } from '../format/errors';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const made: string[] = [];

/** Remove the fixtures made so far (test/fixture-cleanup.ts does after each test file). */
export function removeFixtures(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A temporary workspace holding the given files (path -> text). */
export function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'nx-campaign-unit-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** The problems of the ConfigError `fn` throws; fails when it throws none. */
export function problemsOf(fn: () => unknown): Problem[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** The message of the ConfigError `fn` throws, as printed; fails when it throws none. */
export function messageOf(fn: () => unknown): string {
  return new ConfigError(problemsOf(fn)).message;
}
