import { codeForStatus, isCode } from '../codes.js';
import { type ErrorDetail, RpcError } from '../error.js';
import { parseRetryAfter } from './retry.js';

/** How much of a failed response's body is read and kept: enough to see what a proxy said. */
export const errorBodyLimit = 64 * 1024;
const keptBodyChars = 512;

/** A non-2xx answer, as any transport hears it. */
export interface FailedAnswer {
  status: number;
  /** The status's reason phrase where the transport knows one (`fetch` over HTTP/2 has none). */
  reason: string | undefined;
  retryAfter: string | string[] | null | undefined;
  contentType: string | string[] | null | undefined;
  /** The body, or as much of it as was read (`errorBodyLimit`). */
  text: string;
  url: string;
}

/**
 * A non-2xx answer as an RpcError. Ours and oto's Go servers send
 * `{"error": "..."}` (ours add `code`); anything else came from a hop in
 * between and is mapped by its status, keeping the first bytes to debug it.
 */
export function errorFromResponse({ status, reason, retryAfter, contentType, text, url }: FailedAnswer): RpcError {
  const wait = parseRetryAfter(retryAfter);
  const body = parseObject(text);
  if (body !== undefined && typeof body.error === 'string') {
    const code = isCode(body.code) ? body.code : codeForStatus(status);
    return new RpcError(code, body.error, { status, details: parseDetails(body.details), retryAfter: wait });
  }
  // A plain-text body is usually one sentence from the hop that failed (runsd's own answers are): worth showing.
  const said = String(contentType ?? '').startsWith('text/plain')
    ? (text.split('\n', 1)[0] ?? '').trim().slice(0, 200)
    : '';
  return new RpcError(
    codeForStatus(status),
    `${url} answered ${status}${reason ? ` ${reason}` : ''}, not an RPC response${said === '' ? '' : `: ${said}`}`,
    {
      status,
      body: text.slice(0, keptBodyChars),
      retryAfter: wait,
    },
  );
}

/**
 * A 2xx body as the method's response. One that is not JSON means something
 * other than an RPC server answered. One with a non-empty `error` string is a
 * failure, as oto's clients read it: an oto Go handler may report one that
 * way, with 200. oto adds `error` to every response, so an empty one is
 * dropped, not handed to a caller whose type does not have it.
 */
export function parseSuccess(status: number, text: string, url: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RpcError('unknown', `${url} answered ${status} with a body that is not JSON`, {
      status,
      body: text.slice(0, keptBodyChars),
    });
  }
  if (typeof body !== 'object' || body === null || !('error' in body)) return body;
  const { error, ...rest } = body as { error: unknown; code?: unknown };
  if (typeof error === 'string' && error !== '') {
    throw new RpcError(isCode(rest.code) ? rest.code : 'unknown', error, { status });
  }
  return error === '' ? rest : body;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function parseDetails(value: unknown): ErrorDetail[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter(
    (item): item is ErrorDetail =>
      typeof item === 'object' && item !== null && typeof item.path === 'string' && typeof item.message === 'string',
  );
}
