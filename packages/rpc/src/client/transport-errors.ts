/** The syscall code (ECONNREFUSED, ECONNRESET…) undici puts on the error or somewhere down its causes. */
export function connectionCode(error: unknown): string | undefined {
  let fallback: string | undefined;
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (/^E[A-Z]+$/.test(code)) return code;
    fallback ??= code;
  }
  return fallback;
}

// Headers and body timeouts are not here: the client turns them into deadline_exceeded first.
const transportFailures = new Set(['UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/** A failure to reach the server or to hear its whole answer, as opposed to a bug in the request. */
export function isTransportFailure(code: string | undefined): boolean {
  return code !== undefined && (/^E[A-Z]+$/.test(code) || transportFailures.has(code));
}
