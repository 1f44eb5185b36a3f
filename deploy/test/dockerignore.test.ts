import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { droppedPaths, keptPaths, projectPaths, serviceNames } from './build-context.js';

// What .dockerignore keeps out of the image build, read with Docker's rules: each pattern is matched
// against the path from the context's root (`*` within a segment, `**` across any number), and a
// folder it matches is dropped whole.

const root = fileURLToPath(new URL('../../', import.meta.url));
const patterns = readFileSync(`${root}.dockerignore`, 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

function toRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (pattern.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 2;
    } else if (pattern.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const matchers = patterns.map(toRegExp);

/** Whether the build leaves `path` out: the pattern that drops it or a folder above it. */
function dropped(path: string): string | undefined {
  const parts = path.split('/');
  for (let depth = 1; depth <= parts.length; depth++) {
    const prefix = parts.slice(0, depth).join('/');
    const index = matchers.findIndex((matcher) => matcher.test(prefix));
    if (index !== -1) return patterns[index];
  }
  return undefined;
}

describe('.dockerignore', () => {
  it.each(serviceNames)('keeps every source of a service named %s, however its src is laid out', (name) => {
    for (const path of [`services/${name}`, ...keptPaths(name)]) {
      expect(dropped(path), path).toBeUndefined();
    }
  });

  it('drops what the build makes again or never needs: installed packages, bundles, tests, local data, the git folder', () => {
    for (const path of droppedPaths) {
      expect(dropped(path), path).toBeDefined();
    }
    for (const path of projectPaths) {
      expect(dropped(path), path).toBeUndefined();
    }
  });
});
