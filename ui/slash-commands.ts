/**
 * Tab completion of slash-command names and /set setting names (kebab-case, the spelling users
 * read; a snake_case prefix completes too). The commands themselves live in the core
 * (generation/chat/slash.ts), shared with piped chat.
 */
import { settingName, SETTING_SPECS } from '../generation/settings-schema.js';
import { SLASH_COMMANDS } from '../generation/chat/slash.js';

/** Every setting's kebab-case name, in the schema's order. */
export const SETTING_NAMES: string[] = SETTING_SPECS.map((s) => settingName(s.key));

function commonPrefix(words: string[]): string {
  let prefix = words[0] ?? '';
  for (const w of words) while (!w.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/**
 * Completes the line at Tab: returns the completed line (unchanged when nothing matches) and the
 * candidates to show when more than one matches.
 */
export function completeSlash(line: string): { line: string; candidates: string[] } {
  const setMatch = /^\/set\s+(\S*)$/.exec(line);
  if (setMatch) {
    const typed = setMatch[1].replace(/_/g, '-');
    const matches = SETTING_NAMES.filter((n) => n.startsWith(typed));
    if (matches.length === 0) return { line, candidates: [] };
    const base = line.slice(0, line.length - setMatch[1].length);
    if (matches.length === 1) return { line: `${base}${matches[0]} `, candidates: [] };
    return { line: base + commonPrefix(matches), candidates: matches };
  }
  const cmdMatch = /^\/(\S*)$/.exec(line);
  if (!cmdMatch) return { line, candidates: [] };
  const matches = SLASH_COMMANDS.map((c) => c.name).filter((n) => n.startsWith(cmdMatch[1]));
  if (matches.length === 0) return { line, candidates: [] };
  if (matches.length === 1)
    return {
      line: `/${matches[0]}${SLASH_COMMANDS.find((c) => c.name === matches[0])!.args ? ' ' : ''}`,
      candidates: [],
    };
  return { line: `/${commonPrefix(matches)}`, candidates: matches.map((m) => `/${m}`) };
}
