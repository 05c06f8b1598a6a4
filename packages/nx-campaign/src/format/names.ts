/**
 * What a name from configuration or data (a stage, an alias, a wafer, a split) may be: it becomes
 * a file name and an Nx project name. No leading dot, no separator, at most 100 characters.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
export const NAME_RULE = 'letters, digits, _ . and -, not starting with a dot, at most 100 characters';

/** An environment variable's name, which a shell reads unquoted. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names as they differ: the prefix a group's names share, up to a separator (`.` or `/`, else
 * `_` or `-`), dropped, so `ml-null-tests.mission-tests.split1` and `...split2` read `split1` and `split2`.
 * `groupOf` (a stage's pipeline, say) keeps one odd name from spoiling the others' prefix, as
 * long as the labels stay unique (`step1_g` and `step2_g` do not both become `g`); otherwise the
 * prefix all names share is dropped. A group of one name, or names sharing nothing, stay whole.
 */
export function distinguishingLabels(names: string[], groupOf?: (name: string) => string): Map<string, string> {
  const groups = new Map<string, string[]>();
  for (const n of names) groups.set(groupOf?.(n) ?? '', [...(groups.get(groupOf?.(n) ?? '') ?? []), n]);
  const out = new Map<string, string>();
  for (const group of groups.values()) {
    if (group.length < 2) {
      for (const n of group) out.set(n, n);
      continue;
    }
    let prefix = group[0];
    for (const n of group) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
    // A path or dotted name is cut at its last `.` or `/`; `_` and `-` only when it has none.
    const cut = (Math.max(prefix.lastIndexOf('.'), prefix.lastIndexOf('/')) + 1 || Math.max(prefix.lastIndexOf('_'), prefix.lastIndexOf('-')) + 1);
    for (const n of group) out.set(n, n.length > cut ? n.slice(cut) : n);
  }
  return groups.size > 1 && new Set(out.values()).size < out.size ? distinguishingLabels(names) : out;
}
