/**
 * Renders a Hugging Face chat template (the Jinja `chat_template` of tokenizer_config.json) into the
 * prompt text a chat model was trained on. Pure: the same inputs always give the same string.
 */
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { InputError, ModelError } from '../errors.js';

/** One message of a conversation, as chat templates expect it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Special-token strings the template may reference (bos_token, eos_token, ...). */
export interface TemplateSpecialTokens {
  bos?: string;
  eos?: string;
  unk?: string;
  pad?: string;
}

/** Everything a chat template is rendered with. */
export interface ChatTemplateInput {
  messages: ChatMessage[];
  /** Append the header that opens the assistant's turn (true when asking the model for a reply). */
  addGenerationPrompt: boolean;
  specialTokens?: TemplateSpecialTokens;
  /** Fixed clock for `strftime_now` so rendering stays deterministic in tests. */
  now?: Date;
  /** How errors name the template (default "the model's chat template"). */
  name?: string;
}

/** The name with a capital first letter, to start a message. */
function capital(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Thrown by the template's own `raise_exception(...)`; the message is the template author's. */
class TemplateRaised extends Error {}

// Parsing is the expensive part and a chat renders the same template every turn.
const parsed = new Map<string, Template>();

function compile(template: string, name: string): Template {
  let compiled = parsed.get(template);
  if (!compiled) {
    try {
      compiled = new Template(template);
    } catch (error) {
      throw new ModelError(
        `${capital(name)} does not parse: ${(error as Error).message}`,
        'Fix chat_template in tokenizer_config.json, or remove it to chat in completion mode.',
      );
    }
    parsed.set(template, compiled);
  }
  return compiled;
}

/** A minimal strftime for the directives chat templates use (Llama 3.1's "%d %b %Y"). */
function strftime(date: Date, format: string): string {
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const pad = (n: number) => String(n).padStart(2, '0');
  const table: Record<string, string> = {
    d: pad(date.getDate()),
    m: pad(date.getMonth() + 1),
    Y: String(date.getFullYear()),
    b: months[date.getMonth()],
    B: date.toLocaleString('en-US', { month: 'long' }),
    H: pad(date.getHours()),
    M: pad(date.getMinutes()),
    '%': '%',
  };
  return format.replace(/%(.)/g, (whole, d: string) => table[d] ?? whole);
}

/** The most items one range() call may make (a template's loops are over messages, not millions). */
export const MAX_RANGE = 1_000_000;

/** Jinja's range(): the one library global a template may need besides those set below. */
function range(start: number, stop?: number, step = 1): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new Error('range() step must not be zero');
  // Refused before allocating: range(1000000000) would otherwise exhaust the heap.
  const count = Math.ceil((to - from) / step);
  if (!Number.isFinite(count) || count > MAX_RANGE)
    throw new Error(`range() of ${count} items is over the limit of ${MAX_RANGE}`);
  const out: number[] = [];
  for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i);
  return out;
}

/**
 * Renders `template` with the variables transformers' `apply_chat_template` provides: messages,
 * add_generation_prompt, bos/eos/unk/pad_token, raise_exception and strftime_now.
 * A `raise_exception` call becomes an InputError carrying the template's message.
 */
export function renderChatTemplate(template: string, input: ChatTemplateInput): string {
  const name = input.name ?? "the model's chat template";
  const compiled = compile(template, name);
  const tokens = input.specialTokens ?? {};
  const now = input.now ?? new Date();
  // The library's Template.render declares its own raise_exception (a plain Error) and a wall-clock
  // strftime_now, and refuses redeclaration; a fresh Environment lets both be ours.
  const env = new Environment();
  const variables: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range,
    messages: input.messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: input.addGenerationPrompt,
    bos_token: tokens.bos ?? '',
    eos_token: tokens.eos ?? '',
    unk_token: tokens.unk ?? '',
    pad_token: tokens.pad ?? '',
    raise_exception: (message: unknown) => {
      throw new TemplateRaised(String(message));
    },
    strftime_now: (format: unknown) => strftime(now, String(format)),
  };
  for (const [key, value] of Object.entries(variables)) env.set(key, value);
  try {
    return (new Interpreter(env).run(compiled.parsed) as { value: string }).value;
  } catch (error) {
    if (error instanceof TemplateRaised)
      throw new InputError(
        `Chat template: ${error.message}`,
        "The conversation does not have the shape this model's template accepts.",
      );
    throw new ModelError(
      `${capital(name)} failed: ${(error as Error).message}`,
      'Fix chat_template in tokenizer_config.json, or remove it to chat in completion mode.',
    );
  }
}
