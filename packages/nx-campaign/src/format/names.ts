/**
 * What a name from configuration or data (a stage, an alias, a wafer, a split) may be: it becomes
 * a file name and an Nx project name. No leading dot, no separator, at most 100 characters.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
export const NAME_RULE = 'letters, digits, _ . and -, not starting with a dot, at most 100 characters';

/** An environment variable's name, which a shell reads unquoted. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
