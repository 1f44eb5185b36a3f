/**
 * One value from the metadata server, for runsd's own start-up questions (the
 * region, the project id). They are asked with node:http, which runsd loads
 * for its proxy anyway (here only once a question is asked, so that runsd
 * can start its app before it loads any HTTP code): gcp-metadata, which
 * fetches the tokens later, costs about 50 ms of CPU to load and make its first call (gaxios on Node's
 * fetch), and on a one-vCPU instance that time is taken from the app's start.
 *
 * It reaches the server as gcp-metadata does: GCE_METADATA_IP, else
 * GCE_METADATA_HOST, else 169.254.169.254, with `Metadata-Flavor: Google`, and
 * an answer counts only if it carries that header back. A connection that
 * fails is tried again twice, briefly; the whole is bounded by `timeoutMs`.
 */
export async function metadataValue(path: string, timeoutMs = 5_000): Promise<string> {
  const deadline = AbortSignal.timeout(timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await get(path, deadline);
    } catch (error) {
      if (deadline.aborted) throw new Error(`no answer within ${timeoutMs} ms`);
      if (attempt === 3 || !(error instanceof ConnectionError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/**
 * Every name the metadata server goes by here: its well-known ones, and
 * wherever GCE_METADATA_IP and GCE_METADATA_HOST point (a host, or host:port).
 * The app reaches it directly (NO_PROXY names it), and runsd's proxy refuses
 * to relay to it, so the proxy is never a second way to its tokens.
 */
export function metadataHosts(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> {
  const configured = [env.GCE_METADATA_IP, env.GCE_METADATA_HOST]
    .map((value) => value?.trim().toLowerCase())
    .filter((value): value is string => value !== undefined && value !== '');
  return new Set(['metadata', 'metadata.google.internal', '169.254.169.254', ...configured]);
}

export function metadataHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.GCE_METADATA_IP || env.GCE_METADATA_HOST || '169.254.169.254';
}

/** The request never reached an answer: the one failure worth another try. */
class ConnectionError extends Error {}

function get(path: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const { request } = process.getBuiltinModule('node:http');
    const outgoing = request(
      `http://${metadataHost()}/computeMetadata/v1/${path}`,
      { headers: { 'Metadata-Flavor': 'Google' }, signal },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('error', reject);
        response.on('end', () => {
          if (response.headers['metadata-flavor'] !== 'Google')
            reject(new Error(`the answer to ${path} has no "Metadata-Flavor: Google" header: not a metadata server`));
          else if (response.statusCode !== 200)
            reject(new Error(`${path} answered ${response.statusCode}: ${body.trim().slice(0, 200)}`));
          else resolve(body);
        });
      },
    );
    outgoing.on('error', (error) => reject(new ConnectionError(error.message)));
    outgoing.end();
  });
}
