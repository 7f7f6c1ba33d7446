import { describe, expect, it } from 'vitest';
import { toFilter, toSearch, toggleService } from './filter';

describe('toFilter', () => {
  const project = ['db', 'api', 'web'];

  it('selects everything by default', () => {
    expect(toFilter({ services: [], stream: null, minLevel: null }, project)).toEqual({
      services: [],
      stream: null,
      min_level: null,
      since: null,
      until: null,
    });
  });

  it('lists chosen services in start order, then unknown ones by name', () => {
    const f = toFilter(
      { services: ['web', 'zz', 'db', 'aa'], stream: 'stderr', minLevel: 'warn' },
      project,
    );
    expect(f).toEqual({
      services: ['db', 'web', 'aa', 'zz'],
      stream: 'stderr',
      min_level: 'warn',
      since: null,
      until: null,
    });
  });
});

describe('toSearch', () => {
  it('is null for an empty pattern and carries the mode otherwise', () => {
    expect(toSearch('', 'regex')).toBeNull();
    expect(toSearch('a.c', 'regex')).toEqual({ pattern: 'a.c', mode: 'regex' });
  });
});

describe('toggleService', () => {
  it('adds and removes', () => {
    expect(toggleService([], 'api')).toEqual(['api']);
    expect(toggleService(['api', 'db'], 'api')).toEqual(['db']);
  });
});
