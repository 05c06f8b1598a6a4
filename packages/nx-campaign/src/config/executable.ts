import { parse as parseShell } from 'shell-quote';
import { configError, type Problem } from '../format/errors';

/** `python -u` -> ['python', '-u']; shell operators are refused, never interpreted. */
export function splitExecutable(executable: string, where: () => Omit<Problem, 'message'>): string[] {
  // shell-quote would put each $VAR's value (empty when unset) in its place, here, once: refused instead.
  if (/[$`]/.test(executable)) throw configError({ ...where(), message: `executable "${executable}" names a variable or a command substitution, which is not expanded`, fix: 'write the program\'s path as it is (e.g. /opt/conda/bin/python3 -u), or put its folder on PATH' });
  const words = parseShell(executable);
  if (words.length === 0 || words.some((w) => typeof w !== 'string')) {
    throw configError({ ...where(), message: `executable "${executable}" is not a program with arguments`, fix: 'write a program and its arguments, e.g. "python -u"; pipes, redirections and ; are not allowed' });
  }
  return words as string[];
}
