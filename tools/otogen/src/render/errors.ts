import { type Code, codeStatus } from '@taco-run/rpc';

/** What each code means, for people: API.md's table and openapi.json's responses say the same. */
export const codeMeanings: Record<Code, string> = {
  invalid_argument: 'a field failed validation; `details` names each one',
  malformed: 'the body is not a JSON object',
  unauthenticated: 'the call carries no valid credentials',
  permission_denied: 'the caller may not do this',
  not_found: 'what the request names does not exist',
  bad_route: 'no such service or method',
  method_not_allowed: 'the route takes POST only',
  already_exists: 'what the request would create exists already',
  aborted: 'the call lost to a concurrent change; it may be tried again',
  failed_precondition: 'the system is not in the state the call needs',
  payload_too_large: 'the body is over the size limit',
  unsupported_media_type: 'the body is not application/json',
  resource_exhausted: 'a quota or rate limit ran out',
  canceled: 'the caller went away before the answer',
  internal: 'the server failed: a bug',
  unknown: "a failure without a code: an oto Go server's, or a proxy's page",
  unimplemented: 'the method is declared but not written yet',
  unavailable: 'the service is not there right now; an idempotent call is retried',
  deadline_exceeded: 'the call took longer than the server allows',
};

/** Codes a call to a method that exists can get back: not a wrong route or verb, and not the caller's own going away. */
const operationCodes = (Object.keys(codeStatus) as Code[]).filter(
  (code) => code !== 'bad_route' && code !== 'method_not_allowed' && code !== 'canceled',
);

/** The statuses a method's call can fail with, each with the codes that come with it, in status order. */
export function operationErrors(): { status: number; codes: Code[] }[] {
  const byStatus = new Map<number, Code[]>();
  for (const code of operationCodes) byStatus.set(codeStatus[code], [...(byStatus.get(codeStatus[code]) ?? []), code]);
  return [...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) => ({ status, codes }));
}
