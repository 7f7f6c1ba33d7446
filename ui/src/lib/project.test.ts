import { describe, expect, it } from 'vitest';
import { projectHeading } from './project';

describe('projectHeading', () => {
  it('waits politely for the first answer', () => {
    expect(projectHeading(undefined)).toEqual({ title: 'Loading project…', files: '' });
  });

  it('names a loaded project and every file it merges, in order', () => {
    const heading = projectHeading({
      state: 'loaded',
      name: 'shop',
      files: ['/srv/shop/compose.yaml', '/srv/shop/compose.prod.yaml'],
      services: [],
    });
    expect(heading).toEqual({
      title: 'shop',
      files: '/srv/shop/compose.yaml + /srv/shop/compose.prod.yaml',
    });
  });

  it('still names the files when they do not load', () => {
    const heading = projectHeading({
      state: 'invalid',
      files: ['/srv/shop/compose.yaml'],
      message: 'error: …',
    });
    expect(heading).toEqual({ title: 'Invalid compose file', files: '/srv/shop/compose.yaml' });
  });
});
