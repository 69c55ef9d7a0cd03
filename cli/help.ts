/**
 * Help text for `textgen help`, `textgen help COMMAND` and `--help`, wrapped to the terminal's width
 * (80 columns when stdout is not a terminal), each with an Examples section.
 */
import type { Command, OptionSpec } from '../commands/command.js';
import type { CommandEntry } from './commands.js';
import { EXAMPLES, OVERVIEW_EXAMPLES } from './help-examples.js';

/** The width help is wrapped to. */
export function helpWidth(stream: { isTTY?: boolean; columns?: number }): number {
  const columns = stream.isTTY ? stream.columns : undefined;
  return Math.max(40, Math.min(columns || 80, 200));
}

/**
 * Wraps `text` at spaces so that no line is longer than `width` columns: the first line starts at
 * column `start` (text already printed before it), the others are indented by `indent`.
 */
export function wrap(text: string, width: number, indent = 0, start = 0): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    const room = width - (lines.length ? indent : start);
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.map((l, i) => (i ? ' '.repeat(indent) + l : l)).join('\n');
}

/** Two columns: names padded, descriptions wrapped beside them (or below when names are wide). */
function table(rows: Array<readonly [string, string]>, width: number): string[] {
  const left = Math.max(0, ...rows.map(([n]) => n.length));
  const below = left + 4 > width / 2;
  return rows.map(([name, text]) => {
    if (below) return `  ${name}\n${' '.repeat(6)}${wrap(text, width, 6, 6)}`;
    return `  ${name.padEnd(left)}  ${wrap(text, width, left + 4, left + 4)}`;
  });
}

/** The global flags every command accepts. */
export const GLOBAL_FLAGS: Array<readonly [string, string]> = [
  ['-h, --help', "Show help (`textgen help COMMAND` for one command's flags)."],
  ['-V, --version', 'Print the version.'],
  ['    --no-color', 'No colours in the terminal (also NO_COLOR=1).'],
];

function examples(lines: string[]): string[] {
  return ['', 'Examples:', ...lines.map((l) => `  ${l}`)];
}

/** The overview listing every command. */
export function renderHelp(commands: CommandEntry[], width = 80): string {
  const lines = [
    'textgen — run text-generation models locally on ONNX Runtime',
    '',
    wrap('Usage: textgen [COMMAND] [FLAGS]   (no command in a terminal opens the chat)', width, 7),
    '',
    'Commands:',
    ...table(
      commands.map((c) => [c.name, c.summary] as const),
      width,
    ),
    '',
    'Global flags:',
    ...table(GLOBAL_FLAGS, width),
    ...examples(OVERVIEW_EXAMPLES),
    '',
    wrap("Run `textgen help COMMAND` for a command's flags.", width),
  ];
  return `${lines.join('\n')}\n`;
}

/** How a flag is written in help: `-m, --model ID`. */
export function flagLabel(name: string, spec: OptionSpec): string {
  const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
  return `${spec.short ? `-${spec.short}, ` : '    '}--${name}${value}`;
}

/** A flag's description as help shows it. */
export function flagDescription(spec: OptionSpec): string {
  return (
    spec.description +
    (spec.multiple && !/repeatable/.test(spec.description) ? ' (repeatable)' : '')
  );
}

/** The usage, flags and examples of one command. */
export function renderCommandHelp(command: Command, width = 80): string {
  const rows = Object.entries(command.options).map(
    ([name, spec]) => [flagLabel(name, spec), flagDescription(spec)] as const,
  );
  const lines = [
    wrap(`Usage: ${command.usage}`, width, 7),
    '',
    wrap(command.summary, width),
    '',
    'Flags:',
    ...table(rows, width),
    ...examples(command.examples ?? EXAMPLES[command.name] ?? [command.usage]),
  ];
  return `${lines.join('\n')}\n`;
}
