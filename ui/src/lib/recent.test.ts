import { describe, expect, it } from 'vitest';
import { recentLabel } from './recent';

const args = {
  project_name: null,
  project_directory: null,
  env_files: [],
  profiles: [],
};

describe('recentLabel', () => {
  it('names the project by its directory and lists its files', () => {
    expect(
      recentLabel({ ...args, files: ['/srv/shop/compose.yaml', '/srv/shop/compose.dev.yaml'] }),
    ).toBe('shop — /srv/shop/compose.yaml + compose.dev.yaml');
  });

  it('prefers the -p name and shows active profiles', () => {
    expect(
      recentLabel({ ...args, project_name: 'web', files: ['/a/b.yaml'], profiles: ['debug'] }),
    ).toBe('web — /a/b.yaml [debug]');
  });
});
