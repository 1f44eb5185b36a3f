/**
 * The one table of error codes and HTTP statuses. The server adapter, the client
 * and the docs all read it, so the two ends of a call cannot disagree.
 *
 * The set is Twirp's and Connect's, plus the transport-level rows of
 * ../shared/DESIGN.md (405, 413, 415) and `canceled`, which only a caller
 * that gave up sees.
 */
export const codeStatus = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  method_not_allowed: 405,
  already_exists: 409,
  aborted: 409,
  failed_precondition: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  resource_exhausted: 429,
  // nginx's "client closed request"; never sent by a server that still has a caller.
  canceled: 499,
  internal: 500,
  unknown: 500,
  unimplemented: 501,
  unavailable: 503,
  deadline_exceeded: 504,
} as const satisfies Record<string, number>;

export type Code = keyof typeof codeStatus;

export const codes = Object.keys(codeStatus) as Code[];

export function isCode(value: unknown): value is Code {
  return typeof value === 'string' && Object.hasOwn(codeStatus, value);
}

export function statusForCode(code: Code): number {
  return codeStatus[code];
}

/**
 * The code for a response that carries no code of its own: an oto Go server's
 * `{"error": "..."}` (always 500) or a proxy's HTML page. Only statuses whose
 * meaning is unambiguous get a specific code; 502/503/504 all mean "the
 * service behind this hop is not there right now".
 */
export function codeForStatus(status: number): Code {
  switch (status) {
    case 401:
      return 'unauthenticated';
    case 403:
      return 'permission_denied';
    case 404:
      return 'not_found';
    case 429:
      return 'resource_exhausted';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    default:
      return 'unknown';
  }
}
