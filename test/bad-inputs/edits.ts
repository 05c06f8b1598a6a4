import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * One change to a copy of the workspace. Text may hold `@PWNED@` (a file the case must never
 * create: only a command run from a config value would) and `@CANARY@` (a folder outside the
 * workspace whose files must stay as they are); both are replaced by absolute paths.
 */
export type Edit =
  /** Replace the one occurrence of `from` (it must be there: the examples are the base). */
  | { file: string; from: string; to: string }
  /** Replace every occurrence of `all`. */
  | { file: string; all: string; to: string }
  | { file: string; text: string | Buffer }
  | { file: string; append: string }
  | { file: string; remove: true }
  /** SQL run on the file (an SQLite database: the shipped one, or a new one when `fresh`). */
  | { file: string; sql: string[]; fresh?: boolean };

export interface Placeholders {
  pwned: string;
  canary: string;
}

const fill = (text: string, p: Placeholders) => text.replaceAll('@PWNED@', p.pwned).replaceAll('@CANARY@', p.canary);

export function applyEdit(ws: string, edit: Edit, p: Placeholders): void {
  const path = join(ws, edit.file);
  mkdirSync(dirname(path), { recursive: true });
  if ('from' in edit || 'all' in edit) {
    const text = readFileSync(path, 'utf8');
    const from = 'from' in edit ? edit.from : edit.all;
    const count = text.split(from).length - 1;
    if (count === 0 || ('from' in edit && count > 1)) throw new Error(`${edit.file}: "${from}" occurs ${count} times; a case edits what the shipped example holds once`);
    writeFileSync(path, 'from' in edit ? text.replace(from, () => fill(edit.to, p)) : text.replaceAll(from, () => fill(edit.to, p)));
  } else if ('text' in edit) writeFileSync(path, typeof edit.text === 'string' ? fill(edit.text, p) : edit.text);
  else if ('append' in edit) writeFileSync(path, readFileSync(path, 'utf8') + fill(edit.append, p));
  else if ('remove' in edit) rmSync(path, { recursive: true, force: true });
  else {
    if (edit.fresh && existsSync(path)) rmSync(path);
    const db = new Database(path);
    try {
      for (const s of edit.sql) db.exec(fill(s, p));
    } finally {
      db.close();
    }
  }
}
