/**
 * `textgen completion bash|zsh|fish`: prints a completion script for the shell, generated from the
 * command registry (every command, alias, subcommand and flag), so it never falls behind `--help`.
 */
import type { Command, OptionSpec } from '../commands/command.js';
import { didYouMean } from '../commands/suggest.js';
import { UsageError } from '../common/errors.js';
import { COMMANDS } from './commands.js';
import { GLOBAL_FLAGS } from './help.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface Described {
  name: string;
  aliases: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  subcommands: string[];
}

/** Flags every command takes besides its own. */
const GLOBAL_LONG = ['help', 'version', 'no-color'];

async function describe(): Promise<Described[]> {
  return Promise.all(
    COMMANDS.map(async (entry) => {
      const command: Command = await entry.load();
      return {
        name: entry.name,
        aliases: entry.aliases ?? [],
        summary: entry.summary,
        options: command.options,
        subcommands: command.subcommands ?? [],
      };
    }),
  );
}

/** Flags whose value is a path (completed as files or folders). */
const PATH_VALUES = new Set(['DIR', 'FILE', 'PATH']);

function bash(commands: Described[]): string {
  const names = commands.flatMap((c) => [c.name, ...c.aliases]);
  const cases = commands.map((c) => {
    const flags = [
      ...Object.entries(c.options).flatMap(([n, o]) => [
        `--${n}`,
        ...(o.short ? [`-${o.short}`] : []),
      ]),
      ...GLOBAL_LONG.map((n) => `--${n}`),
    ];
    const pathFlags = Object.entries(c.options)
      .filter(([, o]) => o.type === 'string' && PATH_VALUES.has(o.valueName ?? ''))
      .map(([n]) => `--${n}`);
    const model = Object.keys(c.options).includes('model') ? '--model|-m|' : '';
    return [
      `    ${[c.name, ...c.aliases].join('|')})`,
      `      case "$prev" in`,
      `        ${model}${pathFlags.join('|') || '--no-such-flag'}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`,
      `      esac`,
      c.subcommands.length
        ? `      if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W "${c.subcommands.join(' ')}" -- "$cur")); return; fi`
        : '',
      `      COMPREPLY=($(compgen -W "${flags.join(' ')}" -- "$cur"))`,
      `      [ \${#COMPREPLY[@]} -eq 0 ] && [[ "$cur" != -* ]] && COMPREPLY=($(compgen -f -- "$cur"))`,
      `      ;;`,
    ]
      .filter(Boolean)
      .join('\n');
  });
  return `# bash completion for textgen (textgen completion bash)
_textgen() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names.join(' ')} help ${GLOBAL_LONG.map((n) => `--${n}`).join(' ')}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
    help) COMPREPLY=($(compgen -W "${names.join(' ')}" -- "$cur")) ;;
  esac
}
complete -F _textgen textgen
`;
}

/** zsh quoting for `_arguments` specs: brackets, colons and quotes escaped. */
function zq(text: string): string {
  return text.replace(/[[\]:\\]/g, '\\$&').replace(/'/g, `'\\''`);
}

function zsh(commands: Described[]): string {
  const list = commands
    .flatMap((c) => [c.name, ...c.aliases].map((n) => `    '${zq(n)}:${zq(c.summary)}'`))
    .join('\n');
  const cases = commands.map((c) => {
    const specs = Object.entries(c.options).map(([n, o]) => {
      const action =
        o.type === 'boolean'
          ? ''
          : PATH_VALUES.has(o.valueName ?? '') || n === 'model'
            ? ':value:_files'
            : ':value: ';
      const names = o.short ? `{-${o.short},--${n}}` : `--${n}`;
      return `        ${o.short ? `'(-${o.short} --${n})'` : ''}${names}'[${zq(o.description)}]${action}'`;
    });
    const subs = c.subcommands.length
      ? `        '1:subcommand:(${c.subcommands.join(' ')})' \\\n`
      : '';
    return `    ${[c.name, ...c.aliases].join('|')})\n      _arguments -s \\\n${subs}${[...specs, `        '*:file:_files'`].join(' \\\n')}\n      ;;`;
  });
  return `#compdef textgen
# zsh completion for textgen (textgen completion zsh)
_textgen() {
  local -a commands
  commands=(
${list}
    'help:Show help for a command'
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
  esac
}
compdef _textgen textgen 2>/dev/null || _textgen "$@"
`;
}

/** fish quoting: single quotes escaped. */
function fq(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fish(commands: Described[]): string {
  const all = commands.flatMap((c) => [c.name, ...c.aliases]);
  const lines = [
    '# fish completion for textgen (textgen completion fish)',
    'complete -c textgen -f',
    ...commands.flatMap((c) =>
      [c.name, ...c.aliases].map(
        (n) => `complete -c textgen -n __fish_use_subcommand -a ${fq(n)} -d ${fq(c.summary)}`,
      ),
    ),
    `complete -c textgen -n __fish_use_subcommand -a help -d ${fq('Show help for a command')}`,
    ...GLOBAL_FLAGS.map(([label, text]) => {
      const long = /--([\w-]+)/.exec(label)![1];
      const short = /^-(\w),/.exec(label.trim())?.[1];
      return `complete -c textgen -l ${long}${short ? ` -s ${short}` : ''} -d ${fq(text)}`;
    }),
  ];
  for (const c of commands) {
    const seen = `__fish_seen_subcommand_from ${[c.name, ...c.aliases].join(' ')}`;
    for (const sub of c.subcommands) lines.push(`complete -c textgen -n ${fq(seen)} -a ${fq(sub)}`);
    for (const [n, o] of Object.entries(c.options)) {
      const value =
        o.type === 'string'
          ? PATH_VALUES.has(o.valueName ?? '') || n === 'model'
            ? ' -r -F'
            : ' -r'
          : '';
      lines.push(
        `complete -c textgen -n ${fq(seen)} -l ${n}${o.short ? ` -s ${o.short}` : ''}${value} -d ${fq(o.description)}`,
      );
    }
  }
  lines.push(
    `complete -c textgen -n ${fq(`__fish_seen_subcommand_from help`)} -a ${fq(all.join(' '))}`,
  );
  return `${lines.join('\n')}\n`;
}

/** The script for `shell`. */
export async function completionScript(shell: Shell): Promise<string> {
  const commands = await describe();
  return shell === 'bash' ? bash(commands) : shell === 'zsh' ? zsh(commands) : fish(commands);
}

/** The completion command. */
export const completionCommand: Command = {
  name: 'completion',
  summary: 'Print a shell completion script (bash, zsh or fish).',
  usage: 'textgen completion bash|zsh|fish',
  subcommands: [...SHELLS],
  options: {},
  async run(ctx) {
    const [shell, ...extra] = ctx.positionals;
    if (!shell || extra.length)
      throw new UsageError(
        'Give one shell: bash, zsh or fish.',
        'Example: source <(textgen completion bash)',
      );
    if (!SHELLS.includes(shell as Shell))
      throw new UsageError(
        `No completion for '${shell}'.${didYouMean(shell, SHELLS)}`,
        'Supported shells: bash, zsh, fish.',
      );
    ctx.stdout.write(await completionScript(shell as Shell));
    return 0;
  },
};
