/**
 * What a name from configuration or data (a stage, an alias, a wafer, a split) may be: it becomes
 * a file name and an Nx project name. No leading dot, no separator, at most 100 characters.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
export const NAME_RULE = 'letters, digits, _ . and -, not starting with a dot, at most 100 characters';

/** An environment variable's name, which a shell reads unquoted. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names as they differ: the prefix all share, up to a separator (`.` `/` `_` `-`), dropped, so
 * `ml-null-tests.mission-tests.split1` and `...split2` read `split1` and `split2`. One name, or
 * names sharing nothing, stay whole.
 */
export function distinguishingLabels(names: string[]): Map<string, string> {
  if (names.length < 2) return new Map(names.map((n) => [n, n]));
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = Math.max(...['.', '/', '_', '-'].map((s) => prefix.lastIndexOf(s))) + 1;
  return new Map(names.map((n) => [n, n.length > cut ? n.slice(cut) : n]));
}
