/**
 * socm's workflow types with socm's command lines (REFERENCE.md section 1): ml-mapmaking,
 * sat-sims, power-spectra, and the nine ml-null-tests, each a fan-out of mapmaking stages.
 * Like socm they accept keys they do not know and pass them to the program as --key=value.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { MissingObsdb, type ObsColumn, type Observation } from './obsdb';
import { socmOptionArgs, socmValue, type ArgFormat } from './socm-args';
import { DEFAULT_KNOBS, DEFAULT_NSPLITS, FOV_RADIUS, NULL_TESTS, nullTestSplits, TEST_KNOBS, WAFERS } from './splits';
import { defineWorkflow, WorkflowOptionError, type WorkflowContext, type WorkflowStage, type WorkflowType } from './types';

/** `"200,200"` (socm's comma string), a TOML list, or a number. */
const listish = z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))]);

/** MLMapmakingWorkflow's fields. None has a default here: a key is "set" when the table has it. */
const MAPMAKING_FIELDS = {
  context: z.string(),
  area: z.string(),
  output_dir: z.string(),
  preprocess_config: z.string().optional(),
  query: z.string().optional(),
  name: z.string().optional(),
  executable: z.string().optional(),
  subcommand: z.string().optional(),
  id: z.number().int().optional(),
  datasize: z.number().int().optional(),
  depends: z.array(z.string()).optional(),
  comps: z.string().optional(),
  wafers: z.string().optional(),
  // Not a socm field: make-ml-map reads it as --wafers (an argparse abbreviation); wafer splits set it.
  wafer: z.string().optional(),
  bands: z.string().optional(),
  nmat: z.string().optional(),
  max_dets: z.number().int().optional(),
  site: z.string().optional(),
  downsample: listish.optional(),
  maxiter: listish.optional(),
  tiled: z.number().int().optional(),
};
type Mapmaking = z.output<z.ZodObject<typeof MAPMAKING_FIELDS>> & Record<string, unknown>;

/** Never on make-ml-map's command line (socm's lists). */
const MAPMAKING_EXCLUDED = new Set(['area', 'output_dir', 'executable', 'query', 'id', 'environment', 'resources', 'datasize', 'preprocess_config']);
const NULL_TEST_EXCLUDED = new Set([...MAPMAKING_EXCLUDED, 'chunk_nobs', 'nsplits', 'wafers', 'subcommand', 'name', 'chunk_duration']);
/** Fields pydantic keeps as floats whatever TOML wrote. */
const FLOAT_FIELDS = ['pwv_limit', 'elevation_threshold', 'sun_distance_threshold'];

const format = (ctx: WorkflowContext, joinLists = false): ArgFormat => ({ floats: new Set([...ctx.floats, ...FLOAT_FIELDS]), path: ctx.path, joinLists });

/** socm turns `maxiter`/`downsample` comma strings into lists; printed back, that drops the spaces. */
function normalizeLists(o: Mapmaking): Mapmaking {
  const out = { ...o };
  for (const k of ['maxiter', 'downsample'] as const) {
    const v = out[k];
    if (typeof v === 'string' && v.includes(',')) out[k] = v.split(',').map((x) => x.trim());
  }
  return out;
}

/** `so-site-pipeline make-ml-map <query> <area> <output_dir> <preprocess_config> --k=v ...` */
function mapmakerArgv(o: Mapmaking, ctx: WorkflowContext, query: string, outputDir: string, excluded: ReadonlySet<string>): string[] {
  const positional = [query, ctx.folder(o.area), outputDir, ...(o.preprocess_config ? [ctx.folder(o.preprocess_config)] : [])];
  const program = [...(o.executable ?? 'so-site-pipeline').split(/\s+/).filter(Boolean), o.subcommand ?? 'make-ml-map'];
  return [...program, ...positional, ...socmOptionArgs(normalizeLists(o), excluded, format(ctx, true))];
}

function warnNoPreprocess(o: Mapmaking, ctx: WorkflowContext) {
  if (!o.preprocess_config) ctx.warn('no preprocess_config: socm refuses a mapmaking table without it; the command has no preprocess positional', 'set preprocess_config = "file://<preprocessing config YAML>"');
}

/** The observations of a query, or undefined (warned) where the obsdb is not on this machine. */
function observationsOrWarn(o: Mapmaking, ctx: WorkflowContext, what: string, columns: ObsColumn[] = []): Observation[] | undefined {
  try {
    return ctx.observations(o.context, o.query ?? '1', columns);
  } catch (e) {
    if (!(e instanceof MissingObsdb)) throw e;
    ctx.warn(`${e.message}: ${what}`, 'run where the context and obsdb are, or point context at a copy of them', 'context');
    return undefined;
  }
}

export const mlMapmaking = defineWorkflow({
  name: 'ml-mapmaking',
  description: 'Maximum-likelihood maps from time-ordered data (so-site-pipeline make-ml-map)',
  options: z.looseObject(MAPMAKING_FIELDS),
  forwardsUnknownOptions: true,
  stages(o, ctx) {
    warnNoPreprocess(o, ctx);
    const query = o.query ?? '1';
    const selected = observationsOrWarn(o, ctx, 'the query is not checked');
    if (selected && !selected.length) throw new WorkflowOptionError('query', `query "${query}" selects no observation of the obsdb: the map would be empty`, 'correct the query ("1" selects every observation)');
    return [{ name: ctx.table, argv: mapmakerArgv(o, ctx, query.startsWith('file://') ? ctx.folder(query) : query, ctx.folder(o.output_dir), MAPMAKING_EXCLUDED) }];
  },
});

/** SATSimWorkflow's fields and defaults; every one reaches the command line. */
const SAT_DEFAULTS = { bands: 'SAT_f090', wafer_slots: 'w25', sample_rate: 37, sim_noise: false, scan_map: false, sim_atmosphere: false, sim_sss: false, sim_hwpss: false, pixels_healpix_radec_nside: 512 };
const SAT_RENAMES: Record<string, string> = {
  sim_hwpss_atmo_data: 'sim_hwpss.atmo_data',
  pixels_healpix_radec_nside: 'pixels_healpix_radec.nside',
  filterbin_name: 'filterbin.name',
  processing_mask_file: 'processing_mask.file',
};
const SAT_EXCLUDED = new Set(['name', 'output_dir', 'executable', 'id', 'environment', 'resources', 'depends', 'context', 'subcommand']);

/** `toast_so_sim --out <output_dir> --<k>=<v> ... --<flag>.enable|disable ...`, keys sorted. */
export const satSims = defineWorkflow({
  name: 'sat-sims',
  description: 'Small Aperture Telescope simulated observations (toast_so_sim)',
  options: z.looseObject({
    output_dir: z.string(),
    schedule: z.string(),
    name: z.string().optional(),
    executable: z.string().optional(),
    bands: z.string().optional(),
    wafer_slots: z.string().optional(),
    sample_rate: z.number().int().optional(),
    sim_noise: z.boolean().optional(),
    scan_map: z.boolean().optional(),
    sim_atmosphere: z.boolean().optional(),
    sim_sss: z.boolean().optional(),
    sim_hwpss: z.boolean().optional(),
    sim_hwpss_atmo_data: z.string().optional(),
    pixels_healpix_radec_nside: z.number().int().optional(),
    filterbin_name: z.string().optional(),
    processing_mask_file: z.string().optional(),
  }),
  forwardsUnknownOptions: true,
  stages(o, ctx) {
    const values: Record<string, unknown> = { ...SAT_DEFAULTS, ...o };
    const f = format(ctx);
    const argv = [...(o.executable ?? 'toast_so_sim').split(/\s+/).filter(Boolean), '--out', ctx.folder(o.output_dir)];
    for (const k of Object.keys(values).sort()) {
      const v = values[k];
      if (SAT_EXCLUDED.has(k) || v === undefined || v === null) continue;
      argv.push(typeof v === 'boolean' ? `--${k}.${v ? 'enable' : 'disable'}` : `--${SAT_RENAMES[k] ?? k}=${socmValue(k, v, f)}`);
    }
    return [{ name: ctx.table, argv }];
  },
});

const SPECTRA_EXCLUDED = new Set(['area', 'name', 'output_dir', 'base_path', 'id', 'environment', 'resources', 'datasize', 'executable', 'script_args', 'script_flags', 'depends', 'subcommand']);

/** `python -u <script> <script_args> --<flag> ... --<key>=<value> ...` */
export const powerSpectra = defineWorkflow({
  name: 'power-spectra',
  description: 'Power spectra with PSpipe (python -u <script> <args> --<flag> --k=v)',
  options: z.looseObject({
    subcommand: z.string(),
    script_args: z.array(z.string()).optional(),
    script_flags: z.array(z.string()).optional(),
    executable: z.string().optional(),
    name: z.string().optional(),
  }),
  forwardsUnknownOptions: true,
  stages(o, ctx) {
    const script = ctx.folder(o.subcommand);
    // socm passes only the file:// arguments (and drops the others): every one is passed here.
    const args = (o.script_args ?? []).map((a) => (a.startsWith('file://') ? ctx.path(a) : a));
    const argv = [...(o.executable ?? 'python -u').split(/\s+/).filter(Boolean), script, ...args, ...(o.script_flags ?? []).map((f) => `--${f}`), ...socmOptionArgs(o, SPECTRA_EXCLUDED, format(ctx))];
    return [{ name: ctx.table, argv, definitionFiles: [script] }];
  },
});

/** The obs columns each null test reads (a missing pwv is 0 in socm; here a missing column is an error). */
const COLUMNS: Record<string, ObsColumn[]> = {
  mission: ['timestamp'],
  wafer: ['timestamp', 'wafer_slots_list'],
  direction: ['timestamp', 'az_center'],
  pwv: ['timestamp', 'pwv'],
  'day-night': ['timestamp'],
  'moonrise-set': ['timestamp'],
  elevation: ['timestamp', 'el_center'],
  'sun-close': ['timestamp', 'az_center', 'el_center'],
  'moon-close': ['timestamp', 'az_center', 'el_center'],
};

/** One null test: socm's knobs, then a mapmaking stage per non-empty split. */
function nullTest(test: string): WorkflowType {
  const schema = z.looseObject({
    ...MAPMAKING_FIELDS,
    chunk_nobs: z.number().int().positive().optional(),
    chunk_duration: z.unknown().optional(),
    nsplits: z.number().int().positive().max(10_000).optional(),
    ...Object.fromEntries((TEST_KNOBS[test] ?? []).map((k) => [k, z.number().optional()])),
  });
  return defineWorkflow({
    name: `ml-null-tests.${test}-tests`,
    description: `ML null test: maps of the ${test} splits`,
    options: schema,
    forwardsUnknownOptions: true,
    stages(raw, ctx) {
      const o = raw as Mapmaking & { chunk_nobs?: number; chunk_duration?: unknown; nsplits?: number; pwv_limit?: number; elevation_threshold?: number; sun_distance_threshold?: number };
      if (o.chunk_duration !== undefined) throw new WorkflowOptionError('chunk_duration', 'chunk_duration is not supported: socm does not implement splitting by duration either', 'set chunk_nobs (observations per chunk) instead');
      if (o.chunk_nobs === undefined) throw new WorkflowOptionError('chunk_nobs', 'chunk_nobs is not set: socm needs it to cut the observations into chunks', 'add chunk_nobs = <observations per chunk>');
      const site = o.site ?? DEFAULT_KNOBS.site;
      const table = test === 'wafer' ? WAFERS : test.endsWith('-close') ? FOV_RADIUS : undefined;
      if (table && !(site in table)) throw new WorkflowOptionError('site', `site "${site}" is not one socm knows for ${test}-tests`, `use one of: ${Object.keys(table).join(', ')}`);
      warnNoPreprocess(o, ctx);
      const query = o.query ?? '1';
      const selected = observationsOrWarn(o, ctx, `the splits cannot be made here, so ${ctx.table} has no stage`, COLUMNS[test]);
      if (!selected) return [];
      if (!selected.length) throw new WorkflowOptionError('query', `query "${query}" selects no observation of the obsdb: ${ctx.table} would have no stage`, 'correct the query ("1" selects every observation)');
      const knobs = { ...DEFAULT_KNOBS, pwv_limit: o.pwv_limit ?? DEFAULT_KNOBS.pwv_limit, elevation_threshold: o.elevation_threshold ?? DEFAULT_KNOBS.elevation_threshold, sun_distance_threshold: o.sun_distance_threshold ?? DEFAULT_KNOBS.sun_distance_threshold, site, chunk_nobs: o.chunk_nobs, nsplits: o.nsplits ?? DEFAULT_NSPLITS[test] };
      const splits = nullTestSplits(test, selected, knobs);
      if (!splits.length) ctx.warn(`no split: none of the ${selected.length} observations query "${query}" selects is on a wafer of site ${site}`, `check site (${Object.keys(WAFERS).join(', ')}) and the obsdb's wafer_slots_list and tube_slot`);
      const outputDir = ctx.folder(o.output_dir);
      return splits.map((s): WorkflowStage => {
        const dir = join(outputDir, s.label);
        const list = join(dir, 'query.txt');
        const ids = s.observations.map((x) => x.obs_id);
        const values = s.wafer ? { ...o, wafer: s.wafer } : o;
        return { name: `${ctx.table}.${s.label}`, argv: mapmakerArgv(values, ctx, list, dir, NULL_TEST_EXCLUDED), files: { [list]: ids.map((id) => `${id}\n`).join('') }, given: { split: s.label, obs_ids: ids } };
      });
    },
  }) as unknown as WorkflowType;
}

export const BUILTIN_WORKFLOWS: WorkflowType[] = [mlMapmaking, satSims, powerSpectra, ...NULL_TESTS.map(nullTest)] as unknown as WorkflowType[];
