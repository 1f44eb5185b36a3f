import { version } from './version.js';

export type HeaderMap = Record<string, string | string[]>;

/** undici accepts headers as an object, a flat [name, value, ...] array or an iterable of pairs; this is one lowercase object. */
export function toHeaderMap(headers: unknown): HeaderMap {
  const map: HeaderMap = {};
  const add = (name: string, value: string | string[]) => {
    const key = name.toLowerCase();
    const existing = map[key];
    map[key] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  };
  if (headers === null || headers === undefined) return map;
  if (Array.isArray(headers) && (headers.length === 0 || typeof headers[0] !== 'object')) {
    for (let i = 0; i < headers.length; i += 2) add(String(headers[i]), String(headers[i + 1]));
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<[string, string]>) add(name, value);
  } else {
    for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
      if (value !== undefined) add(name, Array.isArray(value) ? value.map(String) : String(value));
    }
  }
  return map;
}

/**
 * The headers for a request runsd resolved, built in one pass from the app's
 * own (in any form undici takes): the credential, the runsd User-Agent, and
 * the real Host when the request is sent somewhere else (the emulator).
 * An app's own Authorization is left alone, and the credential rides in
 * X-Serverless-Authorization, which Cloud Run checks first and strips.
 */
export function withRunsdHeaders(
  headers: unknown,
  credential: string | undefined,
  host: string | undefined,
): HeaderMap {
  const result = toHeaderMap(headers);
  if (credential !== undefined) {
    if (result.authorization !== undefined) result['x-serverless-authorization'] = credential;
    else result.authorization = credential;
  }
  const agent = result['user-agent'];
  result['user-agent'] =
    agent === undefined ? `runsd version=${version}` : `runsd version=${version}; ${String(agent)}`;
  if (host !== undefined) result.host = host;
  // The app's Host named the short name; undici sets the target's. (Rare, so delete's cost is too.)
  else if (result.host !== undefined) delete result.host;
  return result;
}
