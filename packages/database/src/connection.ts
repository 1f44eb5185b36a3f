import type pg from 'pg';

/**
 * node-postgres's settings for DATABASE_URL. An IAM login (a user named
 * `<account>@<project>.iam` and no password: see cloud-sql.ts) gets the
 * account's access token as its password, and its fields one by one, since
 * node-postgres lets a connection string's empty password override the
 * function. Only the host, port, user and database are read from such a URL:
 * it connects through Cloud Run's Cloud SQL socket, which encrypts itself.
 */
export async function connectionSettings(url: string, env: NodeJS.ProcessEnv = process.env): Promise<pg.PoolConfig> {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined || parsed.password !== '' || !decodeURIComponent(parsed.username).endsWith('.iam')) {
    return { connectionString: url };
  }
  const { accessTokenPassword } = await import('./cloud-sql.js');
  return {
    host: parsed.searchParams.get('host') ?? parsed.hostname,
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    password: accessTokenPassword(env),
  };
}
