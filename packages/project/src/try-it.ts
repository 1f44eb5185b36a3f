import type { Service } from './services.js';

/**
 * The curl line that tries a service as a person calls it: with an identity token unless the
 * service is public, and `GET /`, or, given a call (`TacoService.EatTaco` and a body its schema
 * accepts), that method, for a service that serves an API. `url` and `token` are shell text:
 * a URL or a `$(...)` that prints one.
 */
export function tryItLine(
  service: Service,
  { url, token, call }: { url: string; token: string; call?: { method: string; body: string } },
): string {
  const auth = service.public ? '' : `-H "Authorization: Bearer ${token}" `;
  if (call === undefined) return `  curl ${auth}${url}`;
  const body = `'${call.body.replaceAll("'", "'\\''")}'`;
  return `  curl ${auth}-H 'Content-Type: application/json' -d ${body} ${url}${service.basePath}${call.method}`;
}
