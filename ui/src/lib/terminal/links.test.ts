import { describe, expect, it } from 'vitest';
import { linkTarget } from './links';

describe('linkTarget', () => {
  it('opens http and https addresses', () => {
    expect(linkTarget('http://localhost:3000/health')).toBe('http://localhost:3000/health');
    expect(linkTarget('https://example.com/a b')).toBe('https://example.com/a%20b');
    expect(linkTarget('HTTPS://Example.com')).toBe('https://example.com/');
  });

  it('refuses every other scheme and what is no URL', () => {
    for (const text of [
      'javascript:alert(1)',
      'file:///etc/passwd',
      'data:text/html,<script>alert(1)</script>',
      'tauri://localhost/',
      'ftp://example.com/',
      'mailto:a@example.com',
      '//example.com',
      'example.com',
      '',
    ]) {
      expect(linkTarget(text), text).toBeNull();
    }
  });
});
