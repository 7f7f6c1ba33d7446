import { describe, expect, it } from 'vitest';
import type { Style } from '../../bindings/Style';
import { inert, look, paletteRgb, segments } from './ansi';

const plain: Style = {
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  inverse: false,
  strike: false,
};

describe('look', () => {
  it('gives the 16 base colours classes and the rest CSS colours', () => {
    expect(look({ ...plain, fg: { palette: 1 }, bg: { palette: 12 } }, false)).toEqual({
      classes: 'fg-1 bg-12',
      color: null,
      background: null,
    });
    expect(look({ ...plain, fg: { palette: 196 }, bg: { rgb: [10, 20, 30] } }, false)).toEqual({
      classes: '',
      color: 'rgb(255, 0, 0)',
      background: 'rgb(10, 20, 30)',
    });
  });

  it('maps every attribute to its class', () => {
    const all = { ...plain, bold: true, dim: true, italic: true, underline: true, strike: true };
    expect(look(all, true).classes).toBe('b d i u s match');
  });

  it('swaps the colours for inverse, using the theme defaults where one is missing', () => {
    expect(look({ ...plain, inverse: true }, false).classes).toBe('fg-bg bg-fg');
    expect(look({ ...plain, inverse: true, fg: { palette: 2 } }, false).classes).toBe('fg-bg bg-2');
    expect(look({ ...plain, inverse: true, bg: { rgb: [1, 2, 3] } }, false)).toEqual({
      classes: 'bg-fg',
      color: 'rgb(1, 2, 3)',
      background: null,
    });
  });
});

describe('paletteRgb', () => {
  it('follows xterm: the 6×6×6 cube then the grey ramp', () => {
    expect(paletteRgb(16)).toBe('rgb(0, 0, 0)');
    expect(paletteRgb(21)).toBe('rgb(0, 0, 255)');
    expect(paletteRgb(208)).toBe('rgb(255, 135, 0)');
    expect(paletteRgb(231)).toBe('rgb(255, 255, 255)');
    expect(paletteRgb(232)).toBe('rgb(8, 8, 8)');
    expect(paletteRgb(255)).toBe('rgb(238, 238, 238)');
  });
});

describe('segments', () => {
  it('is one plain run for an unstyled line', () => {
    expect(segments('hello', [], [])).toEqual([
      { text: 'hello', classes: '', color: null, background: null },
    ]);
  });

  it('cuts at span and match boundaries and combines them', () => {
    const red = { ...plain, fg: { palette: 1 } };
    const out = segments('error: disk full', [{ start: 0, end: 5, style: red }], [[3, 9]]);
    expect(out.map((s) => [s.text, s.classes])).toEqual([
      ['err', 'fg-1'],
      ['or', 'fg-1 match'],
      [': di', 'match'],
      ['sk full', ''],
    ]);
  });

  it('uses UTF-16 offsets, as Rust sends them', () => {
    const out = segments('→ 😀 ok', [], [[2, 4]]);
    expect(out.map((s) => s.text)).toEqual(['→ ', '😀', ' ok']);
  });

  it('clamps ranges that run past the text', () => {
    const out = segments(
      'abc',
      [{ start: 1, end: 99, style: { ...plain, bold: true } }],
      [[-2, 1]],
    );
    expect(out.map((s) => [s.text, s.classes])).toEqual([
      ['a', 'match'],
      ['bc', 'b'],
    ]);
  });
});

describe('inert', () => {
  it('shows control characters as visible stand-ins of the same length', () => {
    const raw = 'a\u0000b\u001b[31mc\u0007\r\nd\u007f\u009b\u202eé\u2028\tz';
    const shown = inert(raw);
    expect(shown).toBe('a\u2400b\u241b[31mc\u2407\u240d\u240ad\u2421\ufffd\ufffdé\u2424\tz');
    expect(shown.length).toBe(raw.length);
  });
});
