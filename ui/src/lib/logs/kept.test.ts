import { describe, expect, it } from 'vitest';
import { KeptViews } from './kept';

describe('KeptViews', () => {
  it('gives an opening back its own keeping place', () => {
    const views = new KeptViews(4);
    const a = views.for(1);
    a.view = { serviceFilter: ['web'], stream: null, minLevel: null, timestamps: false, pattern: 'x', mode: 'substring', following: false, top: 40, evicted: 0 };
    views.for(2);
    expect(views.for(1)).toBe(a);
    expect(views.for(2)).not.toBe(a);
  });

  it('forgets the least recently asked beyond its size', () => {
    const views = new KeptViews(2);
    const a = views.for(1);
    const b = views.for(2);
    views.for(1);
    views.for(3);
    expect(views.for(1)).toBe(a);
    expect(views.for(2)).not.toBe(b);
  });
});
