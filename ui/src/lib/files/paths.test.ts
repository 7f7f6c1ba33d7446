import { describe, expect, it } from 'vitest';
import { child, crumbs, modified, parent } from './paths';

describe('paths', () => {
  it('splits a path into the path bar', () => {
    expect(crumbs('/')).toEqual([{ label: '/', path: '/' }]);
    expect(crumbs('/usr/lib')).toEqual([
      { label: '/', path: '/' },
      { label: 'usr', path: '/usr' },
      { label: 'lib', path: '/usr/lib' },
    ]);
  });

  it('shows a directory name with control and bidi characters as stand-ins, and opens it as it is', () => {
    expect(crumbs('/d/\u202etxt.exe\n')).toEqual([
      { label: '/', path: '/' },
      { label: 'd', path: '/d' },
      { label: '\ufffdtxt.exe\u240a', path: '/d/\u202etxt.exe\n' },
    ]);
  });

  it('goes down into an entry and up to the parent', () => {
    expect(child('/', 'etc')).toBe('/etc');
    expect(child('/etc', 'a b\nc')).toBe('/etc/a b\nc');
    expect(parent('/usr/lib')).toBe('/usr');
    expect(parent('/usr')).toBe('/');
    expect(parent('/')).toBe('/');
  });

  it('writes a time as a date and minutes', () => {
    const t = new Date(2024, 0, 2, 3, 4).getTime() / 1000;
    expect(modified(t)).toBe('2024-01-02 03:04');
  });
});
