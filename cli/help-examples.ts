/**
 * The Examples section of each command's help (a command may also carry its own `examples`).
 */

/** Examples by command name; each line is one runnable command, optionally followed by `  # why`. */
export const EXAMPLES: Record<string, string[]> = {
  chat: [
    'textgen chat                              # pick a model, then type',
    'textgen chat -m org/name --system "Be brief."',
    'textgen chat --continue                   # resume the last session',
    'printf "Hi\\nTell me more\\n" | textgen chat  # one reply per line',
  ],
  generate: [
    'textgen generate "Once upon a time"',
    'cat notes.txt | textgen generate "Summarize:"',
    'textgen generate -m org/name -n 60 --temperature 0 --json "Hello"',
    'printf \'{"prompt":"A"}\\n\' | textgen generate --jsonl',
  ],
  models: [
    'textgen models list',
    'textgen models pull org/name --dtype q4',
    'textgen models show org/name',
    'textgen models rm org/name --yes',
  ],
  perplexity: [
    'textgen perplexity -m org/name corpus.txt',
    'textgen perplexity --by-line --json corpus.txt',
  ],
  bench: ['textgen bench -m org/name -p 128 -n 64', 'textgen bench --json -r 5'],
  train: [
    'textgen train book.txt --name mine --steps 500',
    'textgen train book.txt --name mine --resume',
    'textgen generate -m local/mine "Call me"',
  ],
  config: [
    'textgen config',
    'textgen config set temperature 0.7',
    'textgen config set default-model org/name',
  ],
  doctor: ['textgen doctor', 'textgen doctor --json'],
  completion: [
    'source <(textgen completion bash)',
    'textgen completion zsh > "${fpath[1]}/_textgen"',
    'textgen completion fish > ~/.config/fish/completions/textgen.fish',
  ],
};

/** Examples for the overview. */
export const OVERVIEW_EXAMPLES = [
  'textgen                                 # the chat TUI',
  'textgen generate "Once upon a time"',
  'textgen models pull org/name',
  'textgen help generate',
];
