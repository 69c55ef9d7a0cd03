/**
 * The README's command reference, generated from the same registry and option specs as `--help`
 * (`npm run docs:commands` rewrites it between the README's markers; a test keeps the two equal).
 */
import { COMMANDS } from './commands.js';
import { flagDescription, flagLabel, GLOBAL_FLAGS } from './help.js';
import { EXAMPLES } from './help-examples.js';

/** Where the generated section starts and ends in README.md. */
export const REFERENCE_START = '<!-- command-reference:start (npm run docs:commands) -->';
/** See {@link REFERENCE_START}. */
export const REFERENCE_END = '<!-- command-reference:end -->';

/** Markdown for every command: summary, usage, flags and examples. */
export async function commandReference(): Promise<string> {
  const out: string[] = [
    'Every command also takes the global flags:',
    '',
    ...GLOBAL_FLAGS.map(([label, text]) => `- \`${label.trim()}\`: ${text}`),
  ];
  for (const entry of COMMANDS) {
    const command = await entry.load();
    const aliases = entry.aliases?.length ? ` (alias: ${entry.aliases.join(', ')})` : '';
    out.push('', `### textgen ${entry.name}${aliases}`, '', command.summary, '');
    out.push('```', command.usage, '```', '');
    const flags = Object.entries(command.options);
    if (flags.length === 0) out.push('No flags of its own.');
    for (const [name, spec] of flags)
      out.push(`- \`${flagLabel(name, spec).trim()}\`: ${flagDescription(spec)}`);
    const examples = command.examples ?? EXAMPLES[entry.name];
    if (examples?.length) out.push('', 'Examples:', '', '```sh', ...examples, '```');
  }
  return `${out.join('\n')}\n`;
}

/** `readme` with its reference section replaced by `reference` (throws when the markers are missing). */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error('README.md has no command-reference markers');
  return `${readme.slice(0, start + REFERENCE_START.length)}\n\n${reference}\n${readme.slice(end)}`;
}
