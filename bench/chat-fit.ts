/**
 * How long fitting a resumed chat into the context takes: the old loop (re-measure the prompt once
 * per dropped turn, as chat-turn.ts did before the ChatSession) against the binary search of
 * context-window.ts's fitView, on the real stories260K tokenizer (worker, as the CLI runs it) and the
 * real Llama-2 chat template. Both run in the same process, interleaved, three times each; the table
 * gives the range of wall times and the ratio. Bounded: the old loop is skipped above 200 messages.
 *
 *   npx tsx bench/chat-fit.ts [--model DIR] [--sizes 50,100,200,1000]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../generation/index.js';
import { buildPrompt, type Conversation } from '../generation/chat/conversation.js';
import { fitView, turnStarts } from '../generation/chat/context-window.js';
import type { ChatMessage } from '../generation/chat/chat-template.js';
import { args, ints, machine } from './common.js';

const opts = args({ sizes: '50,100,200,1000' });
const template = JSON.parse(
  readFileSync(
    join(
      import.meta.dirname,
      '..',
      '..',
      'shared',
      'models',
      'ort-genai-tiny-random-llama-fp16',
      'tokenizer_config.json',
    ),
    'utf8',
  ),
).chat_template as string;
const generator = await loadModel(opts.model, { threads: opts.threads });
const info = { ...generator.info, chatTemplate: template };
const budget = { contextLength: info.contextLength, reserve: Math.floor(info.contextLength / 4) };
const measure = async (c: Conversation) => {
  const plan = await buildPrompt(info, c);
  return (await generator.tokenize(plan.prompt, { addSpecialTokens: plan.addSpecialTokens }))
    .length;
};

/** The pre-ChatSession loop: drop one turn, re-measure, until it fits. */
async function oldFit(c: Conversation): Promise<number> {
  const starts = turnStarts(c.messages);
  for (let dropped = 0; dropped < starts.length; dropped++) {
    const tokens = await measure({ ...c, messages: c.messages.slice(starts[dropped]) });
    if (tokens <= budget.contextLength - budget.reserve) return starts[dropped];
  }
  throw new Error('does not fit');
}

function history(messages: number): Conversation {
  const list: ChatMessage[] = [];
  for (let i = 0; list.length < messages - 1; i++)
    list.push(
      { role: 'user', content: `Question ${i}: what did the little cat find in the park today?` },
      { role: 'assistant', content: `The cat ${i} found a red ball and played with it all day.` },
    );
  list.push({ role: 'user', content: 'hi' });
  return { messages: list };
}

const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms`;
console.log(machine());
console.log(
  '| messages | old loop | fitView | old ÷ new (median) |\n| ---: | ---: | ---: | ---: |',
);
for (const size of ints(opts.sizes)) {
  const c = history(size);
  const olds: number[] = [];
  const news: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    if (size <= 200) {
      const t0 = performance.now();
      const a = await oldFit(c);
      olds.push(performance.now() - t0);
      const t1 = performance.now();
      const b = (await fitView(c, 0, budget, measure)).start;
      news.push(performance.now() - t1);
      if (a !== b) throw new Error(`different views: ${a} vs ${b}`);
    } else {
      const t1 = performance.now();
      await fitView(c, 0, budget, measure);
      news.push(performance.now() - t1);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1];
  console.log(
    `| ${size} | ${olds.length ? range(olds) : 'skipped'} | ${range(news)} | ${olds.length ? `${(median(olds) / median(news)).toFixed(1)}×` : '—'} |`,
  );
}
await generator.dispose();
process.exit(0);
