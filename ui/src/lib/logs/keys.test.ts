// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { isTyping, shortcutOf } from './keys';

const press = (key: string, target: EventTarget | null = document.body, mods = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  target,
  ...mods,
});

describe('shortcutOf', () => {
  it('maps the viewer keys', () => {
    expect(shortcutOf(press('/'))).toBe('search');
    expect(shortcutOf(press('n'))).toBe('next');
    expect(shortcutOf(press('N'))).toBe('prev');
    expect(shortcutOf(press('f'))).toBe('follow');
    expect(shortcutOf(press('Escape'))).toBe('escape');
    expect(shortcutOf(press(']'))).toBe('nextMarker');
    expect(shortcutOf(press('['))).toBe('prevMarker');
    expect(shortcutOf(press('c', document.body, { ctrlKey: true }))).toBe('copy');
    expect(shortcutOf(press('c', document.body, { metaKey: true }))).toBe('copy');
  });

  it('ignores other keys and modified ones', () => {
    expect(shortcutOf(press('x'))).toBeNull();
    expect(shortcutOf(press('f', document.body, { ctrlKey: true }))).toBeNull();
    expect(shortcutOf(press('n', document.body, { altKey: true }))).toBeNull();
  });

  it('stays quiet while the user types', () => {
    const input = document.createElement('input');
    const area = document.createElement('textarea');
    expect(shortcutOf(press('f', input))).toBeNull();
    expect(shortcutOf(press('/', area))).toBeNull();
    expect(shortcutOf(press('c', input, { ctrlKey: true }))).toBeNull();
  });
});

describe('isTyping', () => {
  it('tells text fields from other controls', () => {
    const text = document.createElement('input');
    const box = document.createElement('input');
    box.type = 'checkbox';
    const editable = document.createElement('div');
    editable.contentEditable = 'true';
    expect(isTyping(text)).toBe(true);
    expect(isTyping(box)).toBe(false);
    expect(isTyping(document.createElement('button'))).toBe(false);
    expect(isTyping(document.createElement('select'))).toBe(true);
    expect(isTyping(null)).toBe(false);
    document.body.append(editable);
    expect(isTyping(editable)).toBe(true);
    editable.remove();
  });
});
