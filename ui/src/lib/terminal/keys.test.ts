import { describe, expect, it } from 'vitest';
import { terminalKey, type KeyPress } from './keys';

const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  type: 'keydown',
  key,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe('terminalKey', () => {
  it('takes copy, paste and close with Ctrl+Shift', () => {
    expect(terminalKey(press('C', { ctrlKey: true, shiftKey: true }))).toBe('copy');
    expect(terminalKey(press('V', { ctrlKey: true, shiftKey: true }))).toBe('paste');
    expect(terminalKey(press('W', { ctrlKey: true, shiftKey: true }))).toBe('close');
    expect(terminalKey(press('Insert', { ctrlKey: true }))).toBe('copy');
    expect(terminalKey(press('Insert', { shiftKey: true }))).toBe('paste');
    expect(terminalKey(press('PageDown', { ctrlKey: true }))).toBe('next-tab');
    expect(terminalKey(press('PageUp', { ctrlKey: true }))).toBe('previous-tab');
  });

  it('leaves the shell its own keys', () => {
    for (const key of ['c', 'v', 'w', 'd', 'z', 'l']) {
      expect(terminalKey(press(key, { ctrlKey: true })), key).toBeNull();
    }
    expect(terminalKey(press('C', { shiftKey: true }))).toBeNull();
    expect(terminalKey(press('c', { ctrlKey: true, shiftKey: true, altKey: true }))).toBeNull();
    expect(terminalKey(press('PageDown'))).toBeNull();
  });

  it('acts once per press, on the key going down', () => {
    expect(terminalKey(press('C', { type: 'keyup', ctrlKey: true, shiftKey: true }))).toBeNull();
    expect(terminalKey(press('C', { type: 'keypress', ctrlKey: true, shiftKey: true }))).toBeNull();
  });
});
