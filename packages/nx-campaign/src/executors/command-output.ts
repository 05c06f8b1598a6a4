import { CampaignError } from '../format/errors';

/**
 * A command's text as an executor's result: its output printed (warnings on stderr); a user's
 * mistake printed without a stack trace, failing the target. Anything else is a bug: thrown.
 */
export async function printed(command: () => Promise<{ stdout: string; stderr?: string; success?: boolean }>): Promise<{ success: boolean }> {
  try {
    const out = await command();
    if (out.stderr) process.stderr.write(out.stderr);
    process.stdout.write(out.stdout);
    return { success: out.success ?? true };
  } catch (e) {
    if (!(e instanceof CampaignError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return { success: false };
  }
}
