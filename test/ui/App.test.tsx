// The whole TUI driven by scripted event streams: no model is loaded; ScriptedEngine plays the core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { render } from 'ink-testing-library';
import { App } from '../../ui/App.js';
import type { SessionRecord } from '../../generation/chat/session-log.js';
import type { ModelEntry, SessionFiles, SessionState } from '../../ui/types.js';
import {
  effectsFlushed,
  inputReady,
  inputReleased,
  KEYS,
  LLAMA2_TEMPLATE,
  ScriptedEngine,
  waitFor,
} from './scripted-engine.js';

const entry: ModelEntry = {
  id: 'local/stories',
  path: '/m/stories',
  sizeBytes: 1_000_000,
  architecture: 'LlamaForCausalLM',
  task: 'text-generation',
  dtypes: ['fp32'],
  contextLength: 512,
};

async function start(
  engine: ScriptedEngine,
  extra: Partial<React.ComponentProps<typeof App>> = {},
) {
  const ready = new RegExp(`ctx 0/${engine.info.contextLength}`);
  const chosen: string[] = [];
  const app = render(
    <App
      models={[entry]}
      initialModel={entry}
      openModel={async () => engine}
      onModelChosen={(m) => chosen.push(m.id)}
      {...extra}
    />,
  );
  await waitFor(() => assert.match(app.lastFrame()!, ready));
  await inputReady(app.stdin);
  await effectsFlushed();
  return { ...app, chosen };
}

/** The rendered app, as far as typing needs it. */
interface Screen {
  stdin: { write: (s: string) => void };
  lastFrame: () => string | undefined;
}

/** Types `text`, waits until the prompt shows it, then presses Enter. */
async function type(app: Screen, text: string) {
  app.stdin.write(text);
  const shown = text.split('\n').at(-1)!;
  // The input line is the last one on screen: Enter before it shows the text would submit stale input.
  await waitFor(() =>
    assert.ok(app.lastFrame()!.trimEnd().endsWith(shown), `the input line shows ${shown}`),
  );
  app.stdin.write(KEYS.enter);
}

test('a prompt streams the reply, then the transcript and status line show it', async () => {
  const engine = new ScriptedEngine({
    replies: [['Once', ' upon', ' a', ' time']],
    delayMs: 30,
    chatTemplate: LLAMA2_TEMPLATE,
  });
  const { stdin, lastFrame, frames, chosen } = await start(engine);
  assert.deepEqual(chosen, ['local/stories']);
  await type({ stdin, lastFrame }, 'Tell a story');
  await waitFor(() => assert.match(lastFrame()!, /generating…/));
  await waitFor(() => assert.match(lastFrame()!, /› Tell a story[\s\S]*Once upon a time/));
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /generating…/));
  assert.ok(
    frames.some((f) => /Once upon(?! a)/.test(f)),
    'a partial reply was rendered before the end',
  );
  assert.match(lastFrame()!, /local\/stories · cpu · ctx \d+\/4096 · TTFT 12 ms · 50\.0 tok\/s/);
  assert.deepEqual(
    engine.requests.map((r) => [r.prompt, r.keepCache, r.addSpecialTokens]),
    [['<s>[INST] Tell a story [/INST]', true, false]],
  );
});

test('the second turn sends the whole conversation, so the core can reuse the cached prefix', async () => {
  const engine = new ScriptedEngine({ replies: [['A'], ['B']], chatTemplate: LLAMA2_TEMPLATE });
  const { stdin, lastFrame } = await start(engine);
  await type({ stdin, lastFrame }, 'one');
  await waitFor(() => assert.match(lastFrame()!, /› one\nA/));
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /generating…/));
  await type({ stdin, lastFrame }, 'two');
  await waitFor(() => assert.equal(engine.requests.length, 2));
  assert.equal(engine.requests[1].prompt, '<s>[INST] one [/INST] A </s><s>[INST] two [/INST]');
  assert.ok(
    engine.requests[1].prompt.startsWith(engine.requests[0].prompt),
    'engine.requests[1].prompt.startsWith(engine.requests[0].prompt)',
  );
});

test('Ctrl-C stops the reply in progress, keeps what was streamed, and the chat goes on', async () => {
  const engine = new ScriptedEngine({
    replies: [['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], ['ok']],
    delayMs: 40,
  });
  const { stdin, lastFrame } = await start(engine);
  await type({ stdin, lastFrame }, 'go');
  await waitFor(() => assert.match(lastFrame()!, /ab/));
  stdin.write(KEYS.ctrlC);
  await waitFor(() => assert.match(lastFrame()!, /! Stopped\./));
  assert.ok(engine.requests[0].signal?.aborted, 'engine.requests[0].signal?.aborted');
  assert.doesNotMatch(lastFrame()!, /abcdefgh/);
  await type({ stdin, lastFrame }, 'again');
  await waitFor(() => assert.match(lastFrame()!, /› again\nok/));
});

test('/set temperature 0 reaches the next request; /regen resends the shorter prompt; /clear rewinds', async () => {
  const engine = new ScriptedEngine({
    replies: [['first'], ['second'], ['third']],
    chatTemplate: LLAMA2_TEMPLATE,
  });
  const { stdin, lastFrame } = await start(engine);
  await type({ stdin, lastFrame }, '/set temperature 0');
  await waitFor(() => assert.match(lastFrame()!, /temperature = 0/));
  await type({ stdin, lastFrame }, 'hi');
  await waitFor(() => assert.match(lastFrame()!, /first/));
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /generating…/));
  assert.equal(engine.requests[0].settings.temperature, 0);
  assert.equal(engine.requests[0].settings.do_sample, false);
  await type({ stdin, lastFrame }, '/regen');
  await waitFor(() => assert.match(lastFrame()!, /second/));
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /generating…/));
  assert.equal(engine.requests[1].prompt, engine.requests[0].prompt);
  await type({ stdin, lastFrame }, '/clear');
  await type({ stdin, lastFrame }, 'new');
  await waitFor(() => assert.equal(engine.requests.length, 3));
  assert.equal(engine.requests[2].prompt, '<s>[INST] new [/INST]');
});

test('a bad /set value is reported with the expected syntax and changes nothing', async () => {
  const engine = new ScriptedEngine({ replies: [] });
  const { stdin, lastFrame } = await start(engine);
  await type({ stdin, lastFrame }, '/set top_k lots');
  await waitFor(() =>
    assert.match(lastFrame()!, /✗ top-k must be an integer in 0\.\.\d+, got 'lots'/),
  );
  await type({ stdin, lastFrame }, '/set top_p 0');
  await waitFor(() => assert.match(lastFrame()!, /✗ top-p must be a number in \(0, 1\], got '0'/));
});

test('when the next turn would overflow the context, the oldest turns are dropped with a notice', async () => {
  // One token per character. System 20; turns 58, 59 and 23; reply reserve 20: the second turn fits
  // (131 <= 135), the third (180) only without the first turn (122).
  const engine = new ScriptedEngine({
    replies: [['x'.repeat(20)], ['y'.repeat(20)], ['z']],
    chatTemplate: LLAMA2_TEMPLATE,
    contextLength: 135,
  });
  const { stdin, lastFrame } = await start(engine);
  await type({ stdin, lastFrame }, '/system brief');
  await type({ stdin, lastFrame }, '/set max_new_tokens 20');
  for (const [i, text] of ['first question', 'second question', 'third'].entries()) {
    await type({ stdin, lastFrame }, text);
    await waitFor(() => assert.equal(engine.completed, i + 1));
  }
  assert.match(
    lastFrame()!,
    /! Context full: dropped the 1 oldest turn from the model's view \(the system prompt is kept\)\./,
  );
  assert.equal(
    engine.requests[2].prompt,
    `<<SYS>>brief<</SYS>><s>[INST] second question [/INST] ${'y'.repeat(20)} </s><s>[INST] third [/INST]`,
  );
  assert.equal([...engine.requests[2].prompt].length, 102);
  assert.equal(lastFrame()!.match(/Context full/g)!.length, 1);
});

test('Tab completes commands and setting names; /help lists the keys', async () => {
  const engine = new ScriptedEngine({ replies: [] });
  const { stdin, lastFrame } = await start(engine);
  stdin.write('/s');
  await waitFor(() => assert.match(lastFrame()!, /› \/s\s*$/));
  stdin.write(KEYS.tab);
  await waitFor(() => assert.match(lastFrame()!, /\/system {2}\/set {2}\/show {2}\/save/));
  stdin.write('et te');
  await waitFor(() => assert.match(lastFrame()!, /› \/set te\s*$/));
  stdin.write(KEYS.tab);
  await waitFor(() => assert.match(lastFrame()!, /› \/set temperature/));
  await type({ stdin, lastFrame }, '0.5');
  await waitFor(() => assert.match(lastFrame()!, /temperature = 0\.5/));
  await type({ stdin, lastFrame }, '/help');
  await waitFor(() => assert.match(lastFrame()!, /end a line with \\ \(or press Alt-Enter\)/));
});

test('history recalls with Up/Down; a trailing backslash continues the message on a new line', async () => {
  const engine = new ScriptedEngine({ replies: [['r1'], ['r2']] });
  const { stdin, lastFrame } = await start(engine);
  await type({ stdin, lastFrame }, 'line one\\');
  await type({ stdin, lastFrame }, 'line two');
  await waitFor(() => assert.equal(engine.requests.length, 1));
  assert.equal(engine.requests[0].prompt, 'line one\nline two');
  await waitFor(() => assert.match(lastFrame()!, /r1/));
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /generating…/));
  stdin.write(KEYS.up);
  await waitFor(() => assert.match(lastFrame()!, /› line one\n {2}line two/));
  stdin.write(KEYS.down);
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /› line one\n {2}line two\s*$/));
});

test('/save and /load go through the session files; the log is appended after the turn; Ctrl-D exits', async () => {
  const saved = new Map<string, SessionState>();
  const store: SessionFiles = {
    save: async (target, data) => (saved.set(target, data), `/sessions/${target}.jsonl`),
    load: async (target) => saved.get(target)!,
  };
  const log: SessionRecord[] = [];
  const writer = { append: async (records: SessionRecord[]) => void log.push(...records) };
  const engine = new ScriptedEngine({ replies: [['hello back']] });
  const { stdin, lastFrame } = await start(engine, { sessions: store, writer });
  await type({ stdin, lastFrame }, 'hello');
  await waitFor(() => assert.equal(log.filter((r) => r.type === 'message').length, 2));
  assert.deepEqual(log[0], { type: 'model', model: 'local/stories' });
  await type({ stdin, lastFrame }, '/save keep');
  await waitFor(() => assert.match(lastFrame()!, /Saved to \/sessions\/keep\.jsonl\./));
  assert.deepEqual(saved.get('keep')!.messages, [
    { role: 'user', content: 'hello' },
    { role: 'assistant', content: 'hello back' },
  ]);
  await type({ stdin, lastFrame }, '/clear');
  await type({ stdin, lastFrame }, '/load keep');
  await waitFor(() => assert.match(lastFrame()!, /Loaded keep: 2 messages/));
  // The load is recorded in the log (a clear, then the loaded messages): nothing is rewritten.
  await waitFor(() => assert.equal(log.filter((r) => r.type === 'message').length, 4));
  assert.ok(
    log.some((r) => r.type === 'clear'),
    "expected log.some((r) => r.type === 'clear')",
  );
  stdin.write(KEYS.ctrlD);
  // Exiting releases the keyboard; only then can typing be shown to change nothing.
  await inputReleased(stdin);
  stdin.write('typed after exit');
  assert.doesNotMatch(lastFrame()!, /typed after exit/);
});

test('a burst of keys holding several Enters submits each line in order; typed-ahead text waits while busy', async () => {
  const engine = new ScriptedEngine({ replies: [['a', 'b', 'c', 'd'], ['second']], delayMs: 30 });
  const { stdin, lastFrame } = await start(engine);
  stdin.write('/set top_k 5\r/set top_p 0.5\rfirst\rtyped ahead\r');
  await waitFor(() =>
    assert.match(lastFrame()!, /top-k = 5\n› \/set top_p 0\.5\ntop-p = 0\.5\n› first/),
  );
  await waitFor(() => assert.match(lastFrame()!, /abcd/));
  assert.equal(engine.requests.length, 1);
  assert.match(lastFrame()!, /› typed ahead\s*$/);
  stdin.write(KEYS.enter);
  await waitFor(() => assert.equal(engine.requests.length, 2));
  assert.equal(engine.requests[1].prompt, 'firstabcd typed ahead');
  assert.equal(engine.requests[1].settings.top_k, 5);
});

test('Ctrl-C when idle arms a hint; a second Ctrl-C exits', async () => {
  const engine = new ScriptedEngine({ replies: [] });
  const { stdin, lastFrame } = await start(engine);
  stdin.write(KEYS.ctrlC);
  await waitFor(() => assert.match(lastFrame()!, /press Ctrl-C again or Ctrl-D to exit/));
  stdin.write('x');
  await waitFor(() => assert.doesNotMatch(lastFrame()!, /press Ctrl-C again/));
  stdin.write(KEYS.ctrlC);
  await waitFor(() => assert.match(lastFrame()!, /press Ctrl-C again/));
  stdin.write(KEYS.ctrlC);
  await inputReleased(stdin);
  stdin.write('after exit');
  assert.doesNotMatch(lastFrame()!, /after exit/);
});

test('/model opens the picker, Esc returns, and picking another model loads it and disposes the old one', async () => {
  const other: ModelEntry = {
    ...entry,
    id: 'Xenova/gpt2',
    path: '/m/gpt2',
    architecture: 'GPT2LMHeadModel',
  };
  const first = new ScriptedEngine({ replies: [] });
  const second = new ScriptedEngine({ replies: [['from gpt2']] });
  const opened: string[] = [];
  const app = render(
    <App
      models={[entry, other]}
      lastModelId="Xenova/gpt2"
      openModel={async (m) => (opened.push(m.id), m.id === entry.id ? first : second)}
    />,
  );
  await waitFor(() => assert.match(app.lastFrame()!, /› Xenova\/gpt2/));
  await inputReady(app.stdin);
  app.stdin.write(KEYS.up);
  await waitFor(() => assert.match(app.lastFrame()!, /› local\/stories/));
  app.stdin.write(KEYS.enter);
  await waitFor(() => assert.match(app.lastFrame()!, /local\/stories · cpu/));
  await effectsFlushed();
  await type(app, '/model');
  await waitFor(() => assert.match(app.lastFrame()!, /Pick a model[\s\S]*Esc back/));
  await effectsFlushed();
  app.stdin.write(KEYS.esc);
  await waitFor(() => assert.match(app.lastFrame()!, /local\/stories · cpu/));
  await effectsFlushed();
  await type(app, '/model');
  await waitFor(() => assert.match(app.lastFrame()!, /Pick a model/));
  await effectsFlushed();
  app.stdin.write(KEYS.down);
  await waitFor(() => assert.match(app.lastFrame()!, /› Xenova\/gpt2/));
  app.stdin.write(KEYS.enter);
  await waitFor(() => assert.match(app.lastFrame()!, /Xenova\/gpt2 · cpu/));
  await effectsFlushed();
  assert.deepEqual(opened, ['local/stories', 'Xenova/gpt2']);
  app.stdin.write(KEYS.up);
  await waitFor(() => assert.match(app.lastFrame()!, /› \/model\s*$/));
  app.stdin.write('\u0015');
  assert.ok(first.disposed, 'first.disposed');
  await type(app, 'hi');
  await waitFor(() => assert.match(app.lastFrame()!, /from gpt2/));
});

test('a model that fails to load is reported and the picker comes back', async () => {
  const app = render(
    <App
      models={[entry]}
      openModel={async () => {
        throw new Error('broken weights');
      }}
    />,
  );
  await inputReady(app.stdin);
  app.stdin.write(KEYS.enter);
  await waitFor(() =>
    assert.match(
      app.lastFrame()!,
      /✗ Could not load local\/stories: broken weights[\s\S]*Pick a model/,
    ),
  );
});

test('switching to a model with a smaller context refits the conversation with the usual notice', async () => {
  const big = new ScriptedEngine({
    replies: [['x'.repeat(30)], ['y'.repeat(30)], ['z'.repeat(30)]],
    chatTemplate: LLAMA2_TEMPLATE,
    contextLength: 4096,
  });
  const small = new ScriptedEngine({
    replies: [['fits']],
    chatTemplate: LLAMA2_TEMPLATE,
    contextLength: 120,
  });
  const other: ModelEntry = { ...entry, id: 'local/small', path: '/m/small', contextLength: 120 };
  const app = render(
    <App
      models={[entry, other]}
      initialModel={entry}
      openModel={async (m) => (m.id === entry.id ? big : small)}
    />,
  );
  await inputReady(app.stdin);
  await waitFor(() => assert.match(app.lastFrame()!, /ctx 0\/4096/));
  for (const [i, text] of ['first question here', 'second question here', 'third one'].entries()) {
    await type(app, text);
    await waitFor(() => assert.equal(big.completed, i + 1));
  }
  await waitFor(() => assert.match(app.lastFrame()!, /ctx \d+\/4096/));
  await type(app, '/model');
  await waitFor(() => assert.match(app.lastFrame()!, /Pick a model/));
  app.stdin.write(KEYS.down);
  await effectsFlushed();
  app.stdin.write(KEYS.enter);
  // The old model's figures are gone (no "ctx 348/120"), and the notice says what the model sees.
  await waitFor(() => assert.match(app.lastFrame()!, /local\/small · cpu · ctx 0\/120/));
  assert.match(
    app.lastFrame()!,
    /! Context full: dropped the 2 oldest turns from the model's view \(the system prompt is kept\)\./,
  );
  await type(app, 'go on');
  await waitFor(() => assert.match(app.lastFrame()!, /fits/));
  // One token per character: the prompt plus the reply reserve (a quarter of 120) fits the context.
  const prompt = small.requests[0].prompt;
  assert.ok([...prompt].length + 30 <= 120, prompt);
  assert.ok(prompt.endsWith('<s>[INST] go on [/INST]'), prompt);
  assert.doesNotMatch(prompt, /first question/);
});
