/**
 * Carries out a parsed slash command against the chat state. /model and /exit change the app's
 * phase, so the app passes those in as callbacks.
 */
import { chatModeOf } from '../generation/chat/conversation.js';
import type { SlashCommand } from './slash-commands.js';
import { helpText } from './slash-commands.js';
import { applySetting, formatSetting, SETTING_NAMES } from './setting-values.js';
import { describeError, type ChatState } from './use-chat.js';
import type { AppEngine, SessionStore } from './types.js';

/** What a slash command may act on. */
export interface SlashContext {
  chat: ChatState;
  engine: AppEngine;
  modelId: string;
  sessions?: SessionStore;
  openPicker: () => void;
  exit: () => void;
}

function showText(ctx: SlashContext): string {
  const { info } = ctx.engine;
  const settings = ctx.chat.settings();
  const overrides = ctx.chat.overrides();
  const mode = chatModeOf(info);
  const lines = [
    `model ${ctx.modelId} (${info.architecture}, ${info.dtype}, ${info.device}, context ${info.contextLength})`,
    `mode ${mode}${mode === 'completion' ? ' (no chat template: replies continue the text)' : ''}`,
    `system ${ctx.chat.conversation().system ? JSON.stringify(ctx.chat.conversation().system) : '(none)'}`,
    `messages ${ctx.chat.conversation().messages.length}`,
    'settings (* = set in this session):',
    ...SETTING_NAMES.map(
      (name) => `  ${name in overrides ? '*' : ' '} ${name} = ${formatSetting(settings[name])}`,
    ),
  ];
  return lines.join('\n');
}

async function saveOrLoad(ctx: SlashContext, name: 'save' | 'load', file: string): Promise<void> {
  if (!ctx.sessions) return ctx.chat.add('error', 'Sessions are not available here.');
  try {
    if (name === 'save') {
      ctx.chat.add('info', `Saved to ${await ctx.sessions.save(file, ctx.chat.session())}.`);
    } else {
      const data = await ctx.sessions.load(file);
      ctx.chat.add(
        'info',
        `Loaded ${file}: ${data.messages.length} messages${data.model && data.model !== ctx.modelId ? ` (saved with ${data.model})` : ''}.`,
      );
      ctx.chat.restore(data);
    }
  } catch (error) {
    ctx.chat.add('error', describeError(error));
  }
}

/** Runs one slash command; errors become transcript lines, never exceptions. */
export function runSlash(command: SlashCommand, ctx: SlashContext): void {
  const { chat } = ctx;
  if (chat.isBusy() && command.name !== 'exit' && command.name !== 'help')
    return chat.add('notice', 'Wait for the reply to finish (Ctrl-C stops it).');
  switch (command.name) {
    case 'error':
      return chat.add('error', command.message);
    case 'help':
      return chat.add('info', helpText());
    case 'exit':
      return ctx.exit();
    case 'model':
      return ctx.openPicker();
    case 'show':
      return chat.add('info', showText(ctx));
    case 'clear':
      return chat.clear();
    case 'regen':
      return chat.regen();
    case 'system':
      return chat.setSystem(command.text);
    case 'set':
      try {
        chat.setOverrides(applySetting(chat.overrides(), command.param, command.value));
        return chat.add(
          'info',
          `${command.param} = ${formatSetting(chat.settings()[command.param as keyof ReturnType<ChatState['settings']>])}`,
        );
      } catch (error) {
        return chat.add('error', describeError(error));
      }
    case 'save':
    case 'load':
      void saveOrLoad(ctx, command.name, command.file);
  }
}
