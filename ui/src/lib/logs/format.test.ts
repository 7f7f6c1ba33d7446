import { describe, expect, it } from 'vitest';
import type { Line } from '../../bindings/Line';
import {
  SERVICE_COLOURS,
  clockTime,
  plainText,
  prefixOf,
  serviceColour,
  shownText,
  size,
} from './format';

const line = (service: string, container: string, text: string, time = ''): Line => ({
  pos: 0,
  time,
  service,
  container,
  stream: 'stdout',
  level: 'unknown',
  text,
  omitted: 0,
  partial: false,
  spans: [],
  json: false,
  matches: [],
  marker: null,
});

describe('serviceColour', () => {
  it('follows start order and never depends on which services are shown', () => {
    const services = ['db', 'api', 'web'];
    expect(services.map((s) => serviceColour(services, s))).toEqual([0, 1, 2]);
    expect(serviceColour(services, 'web')).toBe(serviceColour(services, 'web'));
  });

  it('wraps around the palette and hashes services the project does not list', () => {
    const many = Array.from({ length: 12 }, (_, i) => `s${i}`);
    expect(serviceColour(many, 's11')).toBe(11 % SERVICE_COLOURS);
    const c = serviceColour([], 'orphan');
    expect(c).toBe(serviceColour(['x'], 'orphan'));
    expect(c).toBeGreaterThanOrEqual(0);
    expect(c).toBeLessThan(SERVICE_COLOURS);
  });
});

describe('prefixOf', () => {
  it("is compose's service-replica prefix", () => {
    expect(prefixOf(line('web', 'shop-web-2', ''))).toBe('web-2');
    expect(prefixOf(line('web', 'odd-name', ''))).toBe('web');
  });
});

describe('clockTime', () => {
  it('shows local time to the millisecond, and a non-timestamp as it is', () => {
    const t = new Date(2025, 0, 2, 3, 4, 5, 60);
    expect(clockTime(t.toISOString())).toBe('03:04:05.060');
    expect(clockTime('soon')).toBe('soon');
  });
});

describe('plainText', () => {
  it('writes lines like docker compose logs, padding prefixes to one width', () => {
    const lines = [
      line('web', 'shop-web-1', 'GET /', '2025-01-01T00:00:00.000000001Z'),
      line('backend', 'shop-backend-1', '<b>\tok</b>', '2025-01-01T00:00:01.000000001Z'),
    ];
    expect(plainText(lines, false)).toBe('web-1     | GET /\nbackend-1 | <b>\tok</b>\n');
    expect(plainText(lines.slice(0, 1), true)).toBe(
      'web-1 | 2025-01-01T00:00:00.000000001Z GET /\n',
    );
  });

  it("names Berth's own lines as the export does", () => {
    const own = { ...line('web', '', 'Synced 1 file', 'T'), stream: 'berth' as const };
    expect(plainText([own], false)).toBe('web (berth) | Synced 1 file\n');
  });
});

describe('shownText', () => {
  it('is the text with its stand-ins, and says what a long line leaves out', () => {
    expect(shownText({ text: 'a\u202eb\u2028c', omitted: 0 })).toBe('a\ufffdb\u2424c');
    expect(shownText({ text: 'start', omitted: 15_900_000 })).toBe('start … 15.9 MB more');
    expect([999, 1000, 8192, 2_000_000, 3e9].map(size)).toEqual([
      '999 bytes',
      '1.0 kB',
      '8.2 kB',
      '2.0 MB',
      '3.0 GB',
    ]);
  });
});
