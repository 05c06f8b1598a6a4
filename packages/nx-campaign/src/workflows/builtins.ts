/**
 * socm's workflow types, with socm's command lines (REFERENCE.md section 1): ml-mapmaking,
 * sat-sims, power-spectra, and the nine ml-null-tests, each a fan-out of mapmaking stages.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { CampaignError } from '../config/errors';
import { DEFAULT_KNOBS, nullTestSplits, NULL_TESTS, type SplitKnobs } from './splits';
import { defineWorkflow, type WorkflowContext, type WorkflowStage, type WorkflowType } from './types';

/** `"200,200"` (socm's comma string) or a TOML list or a number. */
const listish = z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))]);

/** Options passed to the mapmaker as sorted `--key=value`; nothing else reaches its command line. */
const MAPMAKER_OPTIONS = {
  bands: z.string().optional(),
  comps: z.string().optional(),
  downsample: listish.optional(),
  maxiter: listish.optional(),
  max_dets: z.number().int().positive().optional(),
  nmat: z.string().optional(),
  site: z.string().optional(),
  tiled: z.number().int().min(0).max(1).optional(),
  wafer: z.string().optional(),
  wafers: z.string().optional(),
};

const mappingKeys = {
  context: z.string(),
  area: z.string(),
  output_dir: z.string(),
  preprocess_config: z.string().optional(),
  query: z.string().default('1'),
  ...MAPMAKER_OPTIONS,
};

const mapmakingSchema = z.strictObject(mappingKeys);
type Mapmaking = z.output<typeof mapmakingSchema>;

function optionValue(v: unknown, ctx: WorkflowContext): string {
  if (Array.isArray(v)) return v.join(',');
  return typeof v === 'string' ? ctx.path(v) : String(v);
}

/** `so-site-pipeline make-ml-map <query> <area> <output_dir> <preprocess_config> --k=v ...` */
export function mapmakerArgv(o: Mapmaking, ctx: WorkflowContext, query: string, outputDir: string): string[] {
  const positional = [query.startsWith('file://') ? ctx.path(query) : query, ctx.path(o.area), outputDir, ...(o.preprocess_config ? [ctx.path(o.preprocess_config)] : [])];
  const options = Object.keys(MAPMAKER_OPTIONS)
    .filter((k) => o[k as keyof Mapmaking] !== undefined)
    .sort()
    .map((k) => `--${k}=${optionValue(o[k as keyof Mapmaking], ctx)}`);
  return ['so-site-pipeline', 'make-ml-map', ...positional, `--context=${ctx.path(o.context)}`, ...options];
}

export const mlMapmaking = defineWorkflow({
  name: 'ml-mapmaking',
  description: 'Maximum-likelihood maps from time-ordered data (so-site-pipeline make-ml-map)',
  options: mapmakingSchema,
  stages(o, ctx) {
    // The query must select something: checked now, not on the cluster.
    const n = ctx.observations(o.context, o.query).length;
    if (n === 0) throw new CampaignError(`query "${o.query}" selects no observation`);
    return [{ name: ctx.table, argv: mapmakerArgv(o, ctx, o.query, ctx.folder(o.output_dir)) }];
  },
});

const satSimsSchema = z.strictObject({
  output_dir: z.string(),
  schedule: z.string(),
  bands: z.string().optional(),
  wafer_slots: z.string().optional(),
  sample_rate: z.number().positive().optional(),
  sim_noise: z.boolean().optional(),
  scan_map: z.boolean().optional(),
  sim_atmosphere: z.boolean().optional(),
  sim_sss: z.boolean().optional(),
  sim_hwpss: z.boolean().optional(),
  pixels_healpix_radec_nside: z.number().int().positive().optional(),
});

/** `toast_so_sim --schedule <f> --bands ... --sim_noise.enable|disable ... --out <output_dir>` */
export const satSims = defineWorkflow({
  name: 'sat-sims',
  description: 'Small Aperture Telescope simulated observations (toast_so_sim)',
  options: satSimsSchema,
  stages(o, ctx) {
    const argv = ['toast_so_sim', '--schedule', ctx.path(o.schedule)];
    const valued: [string, string][] = [];
    if (o.bands !== undefined) valued.push(['bands', o.bands]);
    if (o.wafer_slots !== undefined) valued.push(['wafer_slots', o.wafer_slots]);
    if (o.sample_rate !== undefined) valued.push(['sample_rate', String(o.sample_rate)]);
    if (o.pixels_healpix_radec_nside !== undefined) valued.push(['pixels_healpix_radec.nside', String(o.pixels_healpix_radec_nside)]);
    for (const [k, v] of valued) argv.push(`--${k}`, v);
    for (const flag of ['sim_noise', 'scan_map', 'sim_atmosphere', 'sim_sss', 'sim_hwpss'] as const) {
      if (o[flag] !== undefined) argv.push(`--${flag}.${o[flag] ? 'enable' : 'disable'}`);
    }
    argv.push('--out', ctx.folder(o.output_dir));
    return [{ name: ctx.table, argv }];
  },
});

const powerSpectraSchema = z.strictObject({
  subcommand: z.string(),
  script_args: z.array(z.string()).default([]),
  script_flags: z.array(z.string()).default([]),
  script_kwargs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

/** `python -u <script> <args> --<flag> ... --k=v` */
export const powerSpectra = defineWorkflow({
  name: 'power-spectra',
  description: 'Power spectra with PSpipe (python -u <script> <args> --<flag> --k=v)',
  options: powerSpectraSchema,
  stages(o, ctx) {
    const script = ctx.path(o.subcommand.startsWith('file://') ? o.subcommand : `file://${o.subcommand}`);
    const kwargs = Object.keys(o.script_kwargs)
      .sort()
      .map((k) => `--${k}=${optionValue(o.script_kwargs[k], ctx)}`);
    return [{ name: ctx.table, argv: ['python', '-u', script, ...o.script_args.map((a) => ctx.path(a)), ...o.script_flags.map((f) => `--${f}`), ...kwargs], definitionFiles: [script] }];
  },
});

/** One null test: its knobs, then a mapmaking stage per non-empty split. */
function nullTest(test: string): WorkflowType<Mapmaking & Partial<SplitKnobs>> {
  const fixedSplits = test === 'direction' ? 2 : undefined;
  const schema = z.strictObject({
    ...mappingKeys,
    chunk_nobs: z.number().int().positive().default(DEFAULT_KNOBS.chunk_nobs),
    nsplits: fixedSplits ? z.literal(fixedSplits).default(fixedSplits) : z.number().int().positive().default(DEFAULT_KNOBS.nsplits),
    ...(test === 'direction' ? { az_tolerance: z.number().min(0).default(DEFAULT_KNOBS.az_tolerance) } : {}),
    ...(test === 'pwv' ? { pwv_limit: z.number().positive().default(DEFAULT_KNOBS.pwv_limit) } : {}),
    ...(test === 'elevation' ? { el_limit: z.number().default(DEFAULT_KNOBS.el_limit) } : {}),
    ...(test.endsWith('-close') ? { distance: z.number().positive().default(DEFAULT_KNOBS.distance), fov_radius: z.number().min(0).default(DEFAULT_KNOBS.fov_radius) } : {}),
    ...(['day-night', 'moonrise-set', 'sun-close', 'moon-close'].includes(test)
      ? { latitude: z.number().min(-90).max(90).default(DEFAULT_KNOBS.site.latitude), longitude: z.number().min(-180).max(360).default(DEFAULT_KNOBS.site.longitude), height: z.number().default(DEFAULT_KNOBS.site.height) }
      : {}),
  });
  return defineWorkflow({
    name: `ml-null-tests.${test}-tests`,
    description: `ML null test: maps of ${test} splits`,
    options: schema as unknown as z.ZodType<Mapmaking & Partial<SplitKnobs>>,
    stages(o, ctx) {
      const raw = o as Mapmaking & Record<string, number>;
      const knobs: SplitKnobs = {
        ...DEFAULT_KNOBS,
        ...Object.fromEntries(Object.entries(raw).filter(([k]) => k in DEFAULT_KNOBS)),
        site: { latitude: raw.latitude ?? DEFAULT_KNOBS.site.latitude, longitude: raw.longitude ?? DEFAULT_KNOBS.site.longitude, height: raw.height ?? DEFAULT_KNOBS.site.height },
      };
      const outputDir = ctx.folder(o.output_dir);
      const splits = nullTestSplits(test, ctx.observations(o.context, o.query), knobs);
      return splits.map((s): WorkflowStage => {
        const dir = join(outputDir, s.label);
        const list = join(dir, 'obs_list.txt');
        // Only the mapmaker's own options reach its command line: no test knob leaks.
        return { name: `${ctx.table}.${s.label}`, argv: mapmakerArgv(o, ctx, `file://${list}`, dir), files: { [list]: `${s.observations.map((x) => x.obs_id).join('\n')}\n` }, given: { split: s.label, obs_ids: s.observations.map((x) => x.obs_id) } };
      });
    },
  });
}

export const BUILTIN_WORKFLOWS: WorkflowType[] = [mlMapmaking, satSims, powerSpectra, ...NULL_TESTS.map(nullTest)] as unknown as WorkflowType[];
