import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temporary workspace holding the given files (path -> text). */
export function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'nx-campaign-unit-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
