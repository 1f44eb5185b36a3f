import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';
import { Agent, type Dispatcher } from 'undici';
import { bearerToken } from './jwt.js';

/** A service behind the front door, as Cloud Run knows it. */
export interface Invokable {
  name: string;
  /** Where the container listens: `http://127.0.0.1:<PORT>`. */
  upstream: string;
  /** The service's own URLs (hash and deterministic forms): a token's audience must be one of them. */
  urls: string[];
  /** Who holds roles/run.invoker on it. */
  invokers: Set<string>;
  /** Deployed with --allow-unauthenticated: allUsers may invoke it, with a token or without. */
  public?: boolean;
}

export interface FrontDoor {
  /** The shared listener that routes by Host, for runsd's RUNSD_TARGET_OVERRIDE. */
  origin: string;
  /** Adds a service and gives it a listener of its own, as its public URL is reachable here. */
  addService(service: Invokable): Promise<string>;
  service(name: string): Invokable | undefined;
  close(): Promise<void>;
}

const hopByHop = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * Cloud Run's authenticating front end, on loopback. Like Cloud Run it takes
 * the token from X-Serverless-Authorization first, then Authorization,
 * verifies its signature, issuer, expiry and audience (with
 * google-auth-library, against the metadata emulator's published keys), and
 * admits only callers with the invoker role. The answers to everyone else
 * are Cloud Run's own HTML error pages.
 */
export async function startFrontDoor({
  certsUrl,
  onRefusal,
}: {
  certsUrl: string;
  /** Each 401 and 403 it answers, as one line that says who called whom and why it was refused (never the token). */
  onRefusal?: (line: string) => void;
}): Promise<FrontDoor> {
  const verifier = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl } });
  const upstream = new Agent();
  const services = new Map<string, Invokable>();
  // Every URL's host, worked out when the service is added rather than on each request.
  const hosts = new Map<string, Invokable>();
  const byHost = (host: string | undefined) => (host === undefined ? undefined : hosts.get(host));
  const servers: Server[] = [];

  const listen = async (fixed?: string): Promise<string> => {
    const server = createServer((request, response) => {
      const service = fixed === undefined ? byHost(request.headers.host) : services.get(fixed);
      handle(service, request, response, verifier, upstream, onRefusal).catch(() =>
        page(response, 500, 'Internal Server Error', 'The server encountered an error.'),
      );
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  const origin = await listen();
  return {
    origin,
    async addService(service) {
      services.set(service.name, service);
      for (const url of service.urls) hosts.set(new URL(url).host, service);
      return listen(service.name);
    },
    service: (name) => services.get(name),
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      await upstream.close();
    },
  };
}

async function handle(
  service: Invokable | undefined,
  request: IncomingMessage,
  response: ServerResponse,
  verifier: OAuth2Client,
  upstream: Dispatcher,
  onRefusal: ((line: string) => void) | undefined,
): Promise<void> {
  const path = request.url ?? '/';
  if (service === undefined)
    return page(
      response,
      404,
      'Not Found',
      `The requested URL <code>${escapeHtml(path)}</code> was not found on this server.`,
    );
  if (!service.public) {
    const refused = await refusal(service, request, response, verifier);
    if (refused !== undefined) {
      onRefusal?.(`front door: ${response.statusCode} ${request.method} ${service.name} ${path}: ${refused}`);
      return;
    }
  }
  const headers: Record<string, string | string[]> = {};

  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !hopByHop.includes(name) && name !== 'x-serverless-authorization') headers[name] = value;
  }
  // Cloud Run starts a trace for every request that arrives without one.
  if (headers.traceparent === undefined)
    headers.traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  const hasBody =
    request.headers['content-length'] !== undefined
      ? request.headers['content-length'] !== '0'
      : request.headers['transfer-encoding'] !== undefined;
  let answer: Dispatcher.ResponseData;
  try {
    answer = await upstream.request({
      origin: service.upstream,
      path,
      method: request.method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? request : null,
    });
  } catch {
    return page(
      response,
      503,
      'Service Unavailable',
      'The service you requested is not available yet. Please try again in 30 seconds.',
    );
  }
  const outgoing: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers))
    if (value !== undefined && !hopByHop.includes(name)) outgoing[name] = value;
  response.writeHead(answer.statusCode, outgoing);
  answer.body.pipe(response);
  answer.body.on('error', () => response.destroy());
}

/** Cloud Run's (Google Front End's) error page, so clients see what they would see there. */
function page(response: ServerResponse, status: number, title: string, detail: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = `<html><head>\n<meta http-equiv="content-type" content="text/html;charset=utf-8">\n<title>${status} ${title}</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n<h1>Error: ${title}</h1>\n<h2>${detail}</h2>\n<h2></h2>\n</body></html>\n`;
  response
    .writeHead(status, { 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(body) })
    .end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Cloud Run's check of the caller: answers 401 or 403 and says who was refused and why, or
 * returns undefined to let the request in. The token itself is never part of what it says.
 */
async function refusal(
  service: Invokable,
  request: IncomingMessage,
  response: ServerResponse,
  verifier: OAuth2Client,
): Promise<string | undefined> {
  const path = escapeHtml(request.url ?? '/');
  const token =
    bearerToken(request.headers['x-serverless-authorization']) ?? bearerToken(request.headers.authorization);
  let email: string | undefined;
  let unverified: string | undefined;
  if (token === undefined) unverified = 'a caller without a token';
  else {
    try {
      const ticket = await verifier.verifyIdToken({ idToken: token, audience: service.urls });
      email = ticket.getPayload()?.email;
    } catch (error) {
      unverified = `a token that ${whyUnverified(error)}`;
    }
  }
  if (unverified !== undefined) {
    response.setHeader(
      'www-authenticate',
      'Bearer error="invalid_token" error_description="The access token could not be verified"',
    );
    page(
      response,
      401,
      'Unauthorized',
      `Your client does not have permission to the requested URL <code>${path}</code>.`,
    );
    return unverified;
  }
  if (email === undefined || !service.invokers.has(email)) {
    page(
      response,
      403,
      'Forbidden',
      `Your client does not have permission to get URL <code>${path}</code> from this server.`,
    );
    return `${email ?? 'a token without an email'} may not invoke ${service.name} (a service calls another only if its service.json calls it)`;
  }
  return undefined;
}

/**
 * Why google-auth-library refused a token, in a few words of our own: its messages can quote
 * the token or its payload, which no log may hold.
 */
function whyUnverified(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/too late/i.test(message)) return 'has expired';
  if (/audience|recipient/i.test(message)) return `is for another audience`;
  return 'could not be verified';
}
