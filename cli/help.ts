/**
 * Help text for `textgen help` and `textgen help COMMAND`.
 */
import type { Command } from '../commands/command.js';
import type { CommandEntry } from './commands.js';

/** The overview listing every command. */
export function renderHelp(commands: CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = [
    'textgen — run text-generation models locally on ONNX Runtime',
    '',
    'Usage: textgen [COMMAND] [FLAGS]   (no command in a terminal opens the chat)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `textgen help COMMAND` for a command's flags.",
  ];
  return `${lines.join('\n')}\n`;
}

/** The usage and flags of one command. */
export function renderCommandHelp(command: Command): string {
  const rows = Object.entries(command.options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    return [
      flag,
      spec.description +
        (spec.multiple && !/repeatable/.test(spec.description) ? ' (repeatable)' : ''),
    ] as const;
  });
  const width = Math.max(0, ...rows.map(([f]) => f.length));
  return `${[`Usage: ${command.usage}`, '', command.summary, '', 'Flags:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`)].join('\n')}\n`;
}
