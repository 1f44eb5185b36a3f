// Cloud SQL's IAM database authentication, as a service on Cloud Run logs in: through the instance
// Cloud Run mounts at /cloudsql/<connection name> (--add-cloudsql-instances), as the database user
// named after its service account, with a short-lived OAuth 2.0 access token of that account, from
// the metadata server, as the password. No password is stored anywhere. connection.ts's connectionSettings
// loads this module only for such a DATABASE_URL, at the first query.

/** Raised when the metadata server gives no access token: the database cannot be logged in to, which errors.ts answers 503. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
}

interface CachedToken {
  value: string;
  /** performance.now() past which it is fetched again. */
  renewAt: number;
}

/** Renewed this long before it expires: a connection opened with it must still log in. */
const renewMarginMs = 5 * 60_000;

/**
 * node-postgres's `password` for an IAM login: called for each new
 * connection, it answers with the service account's access token, fetched
 * from the metadata server (GCE_METADATA_HOST, as Google's libraries read
 * it, else metadata.google.internal) and reused until five minutes before
 * it expires. Concurrent connections share one fetch.
 */
export function accessTokenPassword(env: NodeJS.ProcessEnv = process.env): () => Promise<string> {
  const host = env.GCE_METADATA_HOST || 'metadata.google.internal';
  const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`;
  let cached: CachedToken | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    let response: Response;
    try {
      response = await fetch(url, { headers: { 'metadata-flavor': 'Google' }, signal: AbortSignal.timeout(5000) });
    } catch (error) {
      throw new AccessTokenError(`no access token from the metadata server at ${host}: ${(error as Error).message}`);
    }
    if (!response.ok) {
      throw new AccessTokenError(`no access token from the metadata server at ${host}: it answered ${response.status}`);
    }
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new AccessTokenError(`the metadata server at ${host} answered a token without access_token and expires_in`);
    }
    cached = { value: body.access_token, renewAt: performance.now() + body.expires_in * 1000 - renewMarginMs };
    return body.access_token;
  };
  return async () => {
    if (cached !== undefined && performance.now() < cached.renewAt) return cached.value;
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
