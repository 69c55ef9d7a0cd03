import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cursorLine,
  edit,
  enterAction,
  type EditAction,
  type EditorState,
} from '../../ui/line-editor.js';
import { EMPTY_HISTORY, newer, older, remember } from '../../ui/input-history.js';

const at = (text: string, cursor = text.length): EditorState => ({ text, cursor });

const cases: Array<[string, EditorState, EditAction, EditorState]> = [
  ['insert at cursor', at('helo', 3), { type: 'insert', text: 'l' }, at('hello', 4)],
  ['insert normalises CRLF', at(''), { type: 'insert', text: 'a\r\nb\rc' }, at('a\nb\nc')],
  ['backspace', at('abc', 2), { type: 'backspace' }, at('ac', 1)],
  ['backspace at start does nothing', at('abc', 0), { type: 'backspace' }, at('abc', 0)],
  ['left clamps', at('a', 0), { type: 'left' }, at('a', 0)],
  ['right clamps', at('a'), { type: 'right' }, at('a')],
  [
    'home goes to the start of the current line',
    at('one\ntwo', 6),
    { type: 'home' },
    at('one\ntwo', 4),
  ],
  [
    'end goes to the end of the current line',
    at('one\ntwo', 1),
    { type: 'end' },
    at('one\ntwo', 3),
  ],
  [
    'Ctrl-U kills to line start',
    at('one\ntwo three', 7),
    { type: 'kill-before' },
    at('one\n three', 4),
  ],
  ['Ctrl-K kills to line end', at('one two\nx', 3), { type: 'kill-after' }, at('one\nx', 3)],
  [
    'Ctrl-W kills the previous word',
    at('say hello there'),
    { type: 'kill-word' },
    at('say hello '),
  ],
  ['set replaces and moves to the end', at('x', 0), { type: 'set', text: 'new' }, at('new')],
];
for (const [name, state, action, expected] of cases) {
  test(`edit: ${name}`, () => assert.deepEqual(edit(state, action), expected));
}

test('enterAction: trailing backslash continues the line, otherwise submits', () => {
  assert.deepEqual(enterAction(at('first\\')), { next: at('first\n') });
  assert.deepEqual(enterAction(at('a\\b')), { submit: 'a\\b' });
  assert.deepEqual(enterAction(at('x\\', 0)), { submit: 'x\\' });
});

test('cursorLine tells first/last line', () => {
  assert.deepEqual(cursorLine(at('a\nb', 0)), { first: true, last: false });
  assert.deepEqual(cursorLine(at('a\nb')), { first: false, last: true });
  assert.deepEqual(cursorLine(at('ab')), { first: true, last: true });
});

test('history: older/newer walk the entries and restore the draft', () => {
  let h = remember(remember(remember(EMPTY_HISTORY, 'one'), 'two'), 'two');
  assert.deepEqual(h.entries, ['one', 'two'], 'a repeat is stored once');
  h = remember(h, '   ');
  assert.deepEqual(h.entries, ['one', 'two'], 'blank entries are skipped');
  let step = older(h, 'draft');
  assert.equal(step.text, 'two');
  step = older(step.history, 'two');
  assert.equal(step.text, 'one');
  assert.equal(older(step.history, 'one').text, undefined, 'nothing older than the first');
  step = newer(step.history);
  assert.equal(step.text, 'two');
  step = newer(step.history);
  assert.equal(step.text, 'draft');
  assert.equal(newer(step.history).text, undefined);
});
