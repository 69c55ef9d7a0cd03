/**
 * The command registry. Each entry loads its module lazily so that, for example, `textgen generate`
 * never loads React or Ink.
 */
import type { Command } from '../commands/command.js';

/** A registry entry: names and a loader for the command module. */
export interface CommandEntry {
  name: string;
  aliases?: string[];
  summary: string;
  load: () => Promise<Command>;
}

/** Every command, in the order `textgen help` lists them. */
export const COMMANDS: CommandEntry[] = [
  {
    name: 'chat',
    summary: 'Open the chat TUI (the default in a terminal).',
    load: async () => (await import('../commands/chat.js')).chatCommand,
  },
  {
    name: 'generate',
    aliases: ['gen'],
    summary: 'Generate a completion for a prompt (argument or stdin).',
    load: async () => (await import('../commands/generate.js')).generateCommand,
  },
  {
    name: 'serve',
    summary: 'Serve models over an OpenAI-compatible HTTP API.',
    load: async () => (await import('../commands/serve.js')).serveCommand,
  },
  {
    name: 'models',
    summary: 'List, show, pull and remove cached models.',
    load: async () => (await import('../commands/models.js')).modelsCommand,
  },
  {
    name: 'perplexity',
    summary: 'Score text: cross-entropy and perplexity.',
    load: async () => (await import('../commands/perplexity.js')).perplexityCommand,
  },
  {
    name: 'bench',
    summary: 'Measure prompt processing and generation speed.',
    load: async () => (await import('../commands/bench.js')).benchCommand,
  },
  {
    name: 'quantize',
    summary: 'Write a 4- or 8-bit variant of a model beside its fp32 ONNX files.',
    load: async () => (await import('../commands/quantize.js')).quantizeCommand,
  },
  {
    name: 'train',
    summary: 'Train a small causal LM from plain text.',
    load: async () => (await import('../commands/train.js')).trainCommand,
  },
  {
    name: 'convert',
    summary: 'Convert a Hugging Face checkpoint (safetensors) into an ONNX model.',
    load: async () => (await import('../commands/convert.js')).convertCommand,
  },
  {
    name: 'config',
    summary: 'Show or change the user config (default model, generation settings).',
    load: async () => (await import('../commands/config.js')).configCommand,
  },
  {
    name: 'doctor',
    summary: 'Show the runtime, execution providers and paths.',
    load: async () => (await import('../commands/doctor.js')).doctorCommand,
  },
  {
    name: 'completion',
    summary: 'Print a shell completion script (bash, zsh or fish).',
    load: async () => (await import('./completion.js')).completionCommand,
  },
];

/** Finds a command entry by name or alias. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
