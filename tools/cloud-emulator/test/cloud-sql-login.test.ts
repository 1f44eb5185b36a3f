import { connectionSettings } from '@taco-run/database';
import { findPostgres, startPostgres, type TestPostgres } from '@taco-run/database/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetadataServer, SigningKey, startMetadataServer } from '../src/index.js';

// A service's IAM database login, as on Cloud Run: DATABASE_URL names the database user of its service
// account and no password, and the password is the account's access token from the metadata server (here
// the emulator's). A real PostgreSQL stands in for Cloud SQL: it listens on a Unix socket in a folder named
// as Cloud Run mounts an instance, and asks that user for its password, set to the token the emulator gives.

const user = 'tacoserver@taco-project.iam';
const instance = 'taco-project:us-central1:taco-run';

describe('connectionSettings', () => {
  it('passes any other DATABASE_URL to node-postgres as it is', async () => {
    for (const url of [
      'postgresql://postgres@127.0.0.1:5432/orders',
      'postgresql://app:secret@db.internal/orders?sslmode=require',
      'postgresql://someone.iam:with-a-password@127.0.0.1/orders',
      'not a url',
    ]) {
      expect(await connectionSettings(url)).toEqual({ connectionString: url });
    }
  });

  it("reads an IAM login's fields from the URL, and gives it a password function, without a network", async () => {
    const settings = await connectionSettings(
      `postgresql://${encodeURIComponent(user)}@localhost/tacoserver?host=/cloudsql/${instance}`,
    );
    expect(settings).toEqual({
      host: `/cloudsql/${instance}`,
      port: 5432,
      user,
      database: 'tacoserver',
      password: expect.any(Function),
    });
  });
});

const found = findPostgres();
describe.skipIf('missing' in found && process.env.CI !== 'true')('an IAM login to a real PostgreSQL', () => {
  let server: TestPostgres;
  let metadata: MetadataServer;
  let token: string;

  beforeAll(async () => {
    if ('missing' in found) throw new Error(found.missing);
    metadata = await startMetadataServer({ serviceAccountEmail: 'tacoserver@taco-project.iam.gserviceaccount.com' });
    const answer = await fetch(`http://${metadata.host}/computeMetadata/v1/instance/service-accounts/default/token`, {
      headers: { 'metadata-flavor': 'Google' },
    });
    token = ((await answer.json()) as { access_token: string }).access_token;
    server = await startPostgres(found.bin, {
      socket: `cloudsql/${instance}`,
      hba: [`local all "${user}" scram-sha-256`],
    });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`create role ${pg.escapeIdentifier(user)} login password ${pg.escapeLiteral(token)}`);
    await admin.end();
    await server.createDatabase('tacoserver');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await metadata?.close();
  });

  const url = () =>
    `postgresql://${encodeURIComponent(user)}@localhost:${server.port}/tacoserver?host=${encodeURIComponent(server.socketDirectory ?? '')}`;

  it('logs in through the socket with the access token as its password, fetched once for many connections', async () => {
    const before = metadata.requests;
    const pool = new pg.Pool({ ...(await connectionSettings(url(), { GCE_METADATA_HOST: metadata.host })), max: 4 });
    try {
      const rows = await Promise.all(
        Array.from({ length: 4 }, () => pool.query<{ user: string }>('select current_user as user')),
      );
      expect(rows.map((result) => result.rows[0]?.user)).toEqual([user, user, user, user]);
      expect(pool.totalCount).toBe(4);
      expect(metadata.requests - before).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('fails as a 503 outage when the metadata server gives no token, and its message names no secret', async () => {
    const pool = new pg.Pool(await connectionSettings(url(), { GCE_METADATA_HOST: '127.0.0.1:1' }));
    try {
      const error = await pool.query('select 1').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ name: 'AccessTokenError' });
      expect(String(error)).toContain('no access token from the metadata server at 127.0.0.1:1');
      const { databaseFailure } = await import('@taco-run/database/errors');
      expect(databaseFailure(error)).toEqual({
        code: 'unavailable',
        message: 'the database cannot be logged in to: no access token',
        outage: true,
      });
    } finally {
      await pool.end();
    }
  });

  it('is refused by the database with another account’s token', async () => {
    const other = await startMetadataServer({ key: new SigningKey() });
    try {
      const pool = new pg.Pool(await connectionSettings(url(), { GCE_METADATA_HOST: other.host }));
      await expect(pool.query('select 1')).rejects.toMatchObject({ code: '28P01' });
      await pool.end();
    } finally {
      await other.close();
    }
  });
});
