import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLines } from '@taco-run/project/process';
import { loadProject } from '@taco-run/project/services';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { migrationJob } from '../image-command.mjs';
import { type ContainerHost, runJob } from './podman.js';

// Each database service's migration job, run in a container of its image as the deploy's Cloud Run job runs
// it (`--command=node --args=/app/migrate/migrate.js`), against a real PostgreSQL on this machine.

const root = fileURLToPath(new URL('../../', import.meta.url));
const context = inject('images');
const withDatabase = loadProject(root).services.filter((service) => service.database !== undefined);

describe.skipIf(context.missing !== undefined || withDatabase.length === 0)('the migration job in its image', () => {
  for (const service of withDatabase) {
    it(`${service.name}: applies every migration it ships to an empty database, then finds nothing to do`, async () => {
      const admin = new pg.Client({ connectionString: context.postgres });
      const name = `${service.name.replaceAll('-', '_')}_job`;
      await admin.connect();
      await admin.query(`create database ${pg.escapeIdentifier(name)}`);
      await admin.end();
      const url = new URL(context.postgres ?? '');
      url.pathname = `/${name}`;
      const image = context.images[service.name]?.tag ?? '';
      const host = context.host as ContainerHost;
      const shipped = readdirSync(join(root, service.dir, service.database?.migrations ?? 'migrations'))
        .filter((file) => file.endsWith('.sql'))
        .sort();

      const first = await runJob(host, image, migrationJob, { DATABASE_URL: url.href });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(jsonLines(first.stdout.trim().split('\n')).map((line) => line.message)).toEqual([
        ...shipped.map((file) => `migrate: applied ${file}`),
        `migrate: applied ${shipped.length} migration${shipped.length === 1 ? '' : 's'}`,
      ]);
      const again = await runJob(host, image, migrationJob, { DATABASE_URL: url.href });
      expect({ code: again.code, lines: jsonLines(again.stdout.trim().split('\n')) }).toEqual({
        code: 0,
        lines: [{ severity: 'INFO', message: 'migrate: the database already has every migration' }],
      });
    }, 120_000);
  }
});
