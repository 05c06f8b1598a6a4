import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { noteFile } from '../util/consulted';
import { CampaignError } from '../format/errors';

/**
 * ceci stage types declared only as Python classes: python/ceci_stages.py reads the modules'
 * sources with Python's `ast` (nothing is imported, so neither ceci nor numpy need be
 * installed) and answers in the shape below, field names as the script writes them.
 */
const fileSchema = z.object({ tag: z.string(), type: z.string().nullable(), suffix: z.string().nullable() });

const optionSchema = z.object({
  type: z.enum(['str', 'int', 'float', 'bool', 'list', 'dict', 'any']),
  /** A JSON value, or `{expr: "np.inf"}` for a default that is not a literal. */
  default: z.unknown().optional(),
  required: z.boolean(),
  help: z.string().optional(),
  /** For lists: how ceci parses the comma-separated command-line value. */
  item: z.enum(['str', 'int', 'float']).optional(),
});

const classSchema = z.object({
  /** ceci's registry name: what a pipeline's `classname` refers to. */
  name: z.string(),
  class_name: z.string(),
  /** The module the class is defined in (ceci's `cls.__module__`). */
  module: z.string(),
  top_package: z.string(),
  /** The top package has no __init__.py: ceci runs `python3 -m ceci <module>.<name>`, not `python3 -m <top_package> <name>`. */
  namespace: z.boolean(),
  file: z.string(),
  line: z.number(),
  inputs: z.array(fileSchema),
  outputs: z.array(fileSchema),
  config: z.record(z.string(), optionSchema),
  parallel: z.boolean(),
  /** What could not be read statically; the class must not be used when set. */
  error: z.string().optional(),
});

const answerSchema = z.object({
  modules: z.array(z.object({ name: z.string(), found: z.boolean(), file: z.string().optional(), searched: z.array(z.string()) })),
  classes: z.array(classSchema),
  /** Every .py file read, and every candidate path looked for and absent. */
  files: z.array(z.string()),
  errors: z.array(z.object({ module: z.string(), file: z.string().optional(), line: z.number().optional(), message: z.string() })),
});

export type CeciOption = z.output<typeof optionSchema>;
export type CeciClass = z.output<typeof classSchema>;
export type CeciModules = z.output<typeof answerSchema>;

/** From src/config (vitest) and dist/config (the built package) alike: <package>/python. */
const SCRIPT = join(__dirname, '..', '..', 'python', 'ceci_stages.py');
const TIMEOUT_MS = 60_000;

/**
 * The stage classes that importing `modules` from `searchPath` (absolute folders, in order)
 * would register with ceci. Every file consulted is noted for the run cache.
 */
export function readCeciModules(searchPath: string[], modules: string[]): CeciModules {
  const python = process.env.NX_CAMPAIGN_PYTHON || 'python3';
  // -E: PYTHON* variables cannot change what runs; -S: no site-packages, only the standard library is needed.
  const r = spawnSync(python, ['-E', '-S', SCRIPT], {
    input: JSON.stringify({ search_path: searchPath, modules }),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: TIMEOUT_MS,
  });
  const what = `reading the ceci stage modules ${modules.join(' ')}`;
  const fixPython = 'install Python 3.9 or later as python3, or set NX_CAMPAIGN_PYTHON to one';
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  // EPIPE: python exited before reading the request; its exit status and stderr say why.
  if (r.error && !(code === 'EPIPE' && r.status !== null)) {
    if (code === 'ENOENT') throw new CampaignError(`${what}: cannot run ${python}: not found\n  fix: ${fixPython}`);
    if (code === 'ETIMEDOUT') throw new CampaignError(`${what}: ${python} ${SCRIPT} did not finish within ${TIMEOUT_MS / 1000} s\n  fix: check the search path holds only source folders (not a whole home directory)`);
    throw new CampaignError(`${what}: cannot run ${python}: ${r.error.message}\n  fix: ${fixPython}`);
  }
  if (r.status !== 0) {
    const why = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}: ${lastLine(r.stderr)}`;
    throw new CampaignError(`${what}: ${python} ${SCRIPT} ${why}\n  fix: ${fixPython}; if it is, this is a bug in nx-campaign's ceci_stages.py`);
  }
  const answer = parseAnswer(r.stdout);
  if (!answer) throw new CampaignError(`${what}: ${python} ${SCRIPT} printed an answer that is not the expected JSON\n  fix: this is a bug in nx-campaign's ceci_stages.py: report it with the modules named above`);
  for (const file of answer.files) noteFile(file);
  return answer;
}

function parseAnswer(stdout: string): CeciModules | undefined {
  try {
    const parsed = answerSchema.safeParse(JSON.parse(stdout));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() || '(nothing on stderr)';
}

let sysPath: string[] | undefined;

/**
 * python3's own import path (its standard library and site-packages), asked once per process:
 * where ceci would find stage modules installed with pip.
 */
export function pythonSysPath(): string[] {
  if (sysPath) return sysPath;
  const python = process.env.NX_CAMPAIGN_PYTHON || 'python3';
  const r = spawnSync(python, ['-c', 'import json, sys; print(json.dumps([p for p in sys.path if p]))'], { encoding: 'utf8', timeout: TIMEOUT_MS });
  try {
    sysPath = r.status === 0 ? (JSON.parse(r.stdout) as string[]) : [];
  } catch {
    sysPath = [];
  }
  return sysPath;
}
