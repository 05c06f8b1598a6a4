/**
 * Handlebars templates whose values are quoted for the file they make (shell words for sbatch
 * scripts, YAML scalars for BPS submit files) unless the template asks for one raw (`{{raw x}}`).
 *
 * Handlebars only knows HTML escaping, and its escape function is shared by the whole process,
 * so values are quoted before rendering instead: every string or number in the context becomes
 * a SafeString holding its quoted form, which Handlebars prints as is, through `{{x}}`, `{{{x}}}`,
 * `#each` and partials alike. `raw` maps one back to the original text.
 */
import Handlebars from 'handlebars';
import { CampaignError } from '../format/errors';

export interface QuotedTemplates {
  /** Render `source` (`file` names it in errors, located at the template's line where Handlebars says one); `fix` ends each error. */
  render(source: string, file: string, context: object, fix: string): string;
  /** The text a quoted value stands for. */
  rawText(value: unknown): string;
}

export function quotedTemplates(quote: (text: string) => string, o: { partials?: Record<string, string>; helpers?: (t: { rawText: (v: unknown) => string; safe: (s: string) => unknown }) => Record<string, Handlebars.HelperDelegate> } = {}): QuotedTemplates {
  const hb = Handlebars.create();
  const originals = new WeakMap<object, string>();
  const rawText = (value: unknown) => (value !== null && typeof value === 'object' && originals.has(value) ? originals.get(value)! : String(value ?? ''));
  for (const [name, text] of Object.entries(o.partials ?? {})) hb.registerPartial(name, text);
  // Handlebars passes its options hash last: a helper given no value gets it alone.
  hb.registerHelper('raw', (...args: unknown[]) => {
    if (args.length !== 2) throw new Error('raw takes one value, e.g. {{raw job.name}}');
    return new hb.SafeString(rawText(args[0]));
  });
  for (const [name, fn] of Object.entries(o.helpers?.({ rawText, safe: (s) => new hb.SafeString(s) }) ?? {})) hb.registerHelper(name, fn);
  const quoted = (value: unknown): unknown => {
    if (typeof value === 'string' || typeof value === 'number') {
      const text = String(value);
      const safe = new hb.SafeString(quote(text));
      originals.set(safe, text);
      return safe;
    }
    if (Array.isArray(value)) return value.map(quoted);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, quoted(v)]));
    return value;
  };
  const compiled = new Map<string, HandlebarsTemplateDelegate>();
  return {
    rawText,
    render(source, file, context, fix) {
      const refuse = (message: string, line?: number) => new CampaignError(`${file}${line ? `:${line}` : ''}: ${message}\n  fix: ${fix}`);
      const template = compiled.get(source) ?? hb.compile(source, { strict: true, noEscape: false });
      let text: string;
      try {
        text = template(quoted(context));
      } catch (e) {
        if (e instanceof CampaignError) throw e;
        const message = (e as Error).message;
        // "Parse error on line 3:\n<excerpt>\n---^\nExpecting ..."; "\"x\" not defined in [object Object] - 2:22"; "Missing helper: \"x\""
        const parse = /^Parse error on line (\d+):[\s\S]*\n(Expecting [^\n]*)$/.exec(message);
        if (parse) throw refuse(`not a Handlebars template: ${parse[2]}`, Number(parse[1]));
        const field = /^"([^"]+)" not defined in .* - (\d+):\d+$/.exec(message);
        if (field) throw refuse(`"${field[1]}" is not a field of the template's context`, Number(field[2]));
        const at = /(?:line |- )(\d+)(?::\d+)?$/m.exec(message);
        throw refuse(message.split('\n')[0].replace(/ - \d+:\d+$/, ''), at ? Number(at[1]) : undefined);
      }
      compiled.set(source, template);
      return text;
    },
  };
}
