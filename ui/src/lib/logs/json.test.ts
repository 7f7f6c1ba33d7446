import { describe, expect, it } from 'vitest';
import { prettyJson } from './json';

describe('prettyJson', () => {
  it('indents objects and arrays one member per line', () => {
    expect(prettyJson('{"a":1,"b":[true,null],"c":{"d":"x"}}')).toEqual([
      '{',
      '  "a": 1,',
      '  "b": [',
      '    true,',
      '    null',
      '  ],',
      '  "c": {',
      '    "d": "x"',
      '  }',
      '}',
    ]);
  });

  it('keeps numbers and strings exactly as logged', () => {
    const text = '{"id":12345678901234567890,"pi":3.14159265358979323846,"s":"a,b:{c}\\"]"}';
    expect(prettyJson(text)).toEqual([
      '{',
      '  "id": 12345678901234567890,',
      '  "pi": 3.14159265358979323846,',
      '  "s": "a,b:{c}\\"]"',
      '}',
    ]);
  });

  it('leaves empty containers on one line and drops the original spacing', () => {
    expect(prettyJson('{ "a" : { } , "b":[ ] }')).toEqual(['{', '  "a": {},', '  "b": []', '}']);
  });

  it('makes control characters inert', () => {
    expect(prettyJson('{"a":"\u001b[1m"}')).toEqual(['{', '  "a": "\u241b[1m"', '}']);
  });
});
