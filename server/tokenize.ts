/**
 * vLLM's tokenizer routes, which remote clients (textgen --endpoint among them) use to measure
 * prompts: POST /tokenize {model, prompt, add_special_tokens} → {count, max_model_len, tokens}, and
 * POST /detokenize {model, tokens} → {prompt}.
 */
import type { TextGenerator } from '../generation/index.js';
import { badField } from './http-errors.js';

/** Answers /tokenize or /detokenize for `generator`. */
export async function tokenizeRoute(
  path: '/tokenize' | '/detokenize',
  body: Record<string, unknown>,
  generator: TextGenerator,
): Promise<object> {
  if (path === '/detokenize') {
    const tokens = body.tokens;
    if (!Array.isArray(tokens) || !tokens.every((t) => Number.isSafeInteger(t) && t >= 0))
      throw badField('tokens', "'tokens' must be a list of token ids.");
    return { prompt: await generator.detokenize(tokens as number[]) };
  }
  if (typeof body.prompt !== 'string') throw badField('prompt', "'prompt' must be a string.");
  const add = body.add_special_tokens !== false;
  const tokens = await generator.tokenize(body.prompt, { addSpecialTokens: add });
  return { count: tokens.length, max_model_len: generator.info.contextLength, tokens };
}
