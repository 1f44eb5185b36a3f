import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { droppedPaths, keptPaths, projectPaths, serviceNames } from '../test/build-context.js';
import { type ContainerHost, podman } from './podman.js';

// .dockerignore as the real builder reads it: a context laid out with services whose names an
// exclusion could match, copied into an image by podman build with the project's .dockerignore,
// and the image's files listed. (deploy/test/dockerignore.test.ts checks the same paths against
// Docker's rules as written down, without a container engine.)

const root = fileURLToPath(new URL('../../', import.meta.url));
const context = inject('images');

describe.skipIf(context.missing !== undefined)('the build context, as podman build reads .dockerignore', () => {
  const folders: string[] = [];
  afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

  it('keeps every service folder, whatever its name, and drops what it should', async () => {
    const host = context.host as ContainerHost;
    const folder = await mkdtemp(join(tmpdir(), 'taco-run-context-'));
    folders.push(folder);
    const paths = [...serviceNames.flatMap(keptPaths), ...droppedPaths, ...projectPaths];
    for (const path of paths) {
      await mkdir(dirname(join(folder, path)), { recursive: true });
      await writeFile(join(folder, path), `${path}\n`);
    }
    await cp(join(root, '.dockerignore'), join(folder, '.dockerignore'));
    await writeFile(join(folder, 'Containerfile'), 'FROM scratch\nCOPY . /context/\n');

    const tag = 'localhost/taco-run-image-test/context-check:latest';
    await podman(host, ['build', '--quiet', '-f', join(folder, 'Containerfile'), '-t', tag, folder]);
    const container = (await podman(host, ['create', tag, '/none'])).trim();
    try {
      const listing = spawnSync('sh', ['-c', `podman export ${container} | tar -t`], {
        env: { ...process.env, ...host.env },
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(listing.status, listing.stderr).toBe(0);
      const copied = new Set(
        listing.stdout
          .split('\n')
          .filter((line) => line.startsWith('context/') && !line.endsWith('/'))
          .map((line) => line.slice('context/'.length)),
      );
      expect(serviceNames.flatMap(keptPaths).filter((path) => !copied.has(path))).toEqual([]);
      expect(projectPaths.filter((path) => !copied.has(path))).toEqual([]);
      expect(droppedPaths.filter((path) => copied.has(path))).toEqual([]);
    } finally {
      await podman(host, ['rm', '--force', container]);
      await podman(host, ['rmi', '--force', tag]);
    }
  });
});
