import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { SigningKey } from './jwt.js';

export interface MetadataOptions {
  projectId?: string;
  projectNumber?: string;
  region?: string;
  serviceAccountEmail?: string;
  /** The key tokens are signed with; share one between servers as Google signs every token with one key set. */
  key?: SigningKey;
}

/**
 * A fault for the next N requests: slow answers, answers held until the test
 * lets them go, 500s, or connections dropped as if the server were down.
 */
export type Fault =
  | { kind: 'slow'; delayMs: number; requests: number }
  | { kind: 'held'; until: Promise<unknown>; requests: number }
  | { kind: 'error'; requests: number }
  | { kind: 'down'; requests: number };

export interface MetadataServer {
  /** `127.0.0.1:<port>`, the value for GCE_METADATA_HOST. */
  host: string;
  options: Required<Omit<MetadataOptions, 'key'>>;
  key: SigningKey;
  /** Every request it was sent, for any path: zero means nobody asked it anything. */
  readonly requests: number;
  /** Identity tokens issued, per audience: how tests see the token cache at work. */
  identityRequests: Map<string, number>;
  /** Every token issued, so tests can check that none leaks into a log. */
  issued: string[];
  setFault(fault: Fault | undefined): void;
  close(): Promise<void>;
}

const defaults: Required<Omit<MetadataOptions, 'key'>> = {
  projectId: 'taco-project',
  projectNumber: '123456789012',
  region: 'us-central1',
  serviceAccountEmail: 'service@taco-project.iam.gserviceaccount.com',
};

/**
 * Cloud Run's metadata server, as far as our code and Google's libraries use
 * it. Like the real one it requires `Metadata-Flavor: Google` on requests
 * and sets it on every answer (gcp-metadata rejects answers without it).
 */
export async function startMetadataServer(options: MetadataOptions = {}): Promise<MetadataServer> {
  const { key = new SigningKey(), ...rest } = options;
  const config = { ...defaults, ...rest };
  const identityRequests = new Map<string, number>();
  const issued: string[] = [];
  let fault: Fault | undefined;
  let requests = 0;
  const app: FastifyInstance = Fastify();

  app.addHook('onRequest', async (request, reply) => {
    requests++;
    reply.header('metadata-flavor', 'Google');
    if (fault !== undefined && fault.requests > 0) {
      fault.requests--;
      const current = fault;
      if (current.kind === 'down') {
        request.raw.socket.destroy();
        return reply;
      }
      if (current.kind === 'error')
        return reply.code(500).type('text/plain').send('metadata emulator: injected fault\n');
      if (current.kind === 'held') await current.until;
      else await new Promise((resolve) => setTimeout(resolve, current.delayMs));
    }
    if (request.url.startsWith('/computeMetadata/') && request.headers['metadata-flavor'] !== 'Google') {
      return reply.code(403).type('text/plain').send('Missing required header "Metadata-Flavor": "Google"\n');
    }
  });

  const text = (value: string) => async (_request: unknown, reply: { type(t: string): { send(v: string): unknown } }) =>
    reply.type('application/text').send(value);
  const base = '/computeMetadata/v1';
  app.get(`${base}/project/project-id`, text(config.projectId));
  app.get(`${base}/project/numeric-project-id`, text(config.projectNumber));
  app.get(`${base}/instance/region`, text(`projects/${config.projectNumber}/regions/${config.region}`));
  app.get(`${base}/instance/zone`, text(`projects/${config.projectNumber}/zones/${config.region}-1`));
  app.get(`${base}/instance/service-accounts/default/email`, text(config.serviceAccountEmail));
  app.get(`${base}/instance/service-accounts/default/token`, async () => ({
    access_token: `emulated-access-token.${key.kid}`,
    expires_in: 3599,
    token_type: 'Bearer',
  }));
  app.get<{ Querystring: { audience?: string; format?: string } }>(
    `${base}/instance/service-accounts/default/identity`,
    async (request, reply) => {
      const { audience, format } = request.query;
      if (audience === undefined || audience === '')
        return reply.code(400).type('text/plain').send('non-empty audience parameter required\n');
      identityRequests.set(audience, (identityRequests.get(audience) ?? 0) + 1);
      const iat = Math.floor(Date.now() / 1000);
      // azp and sub are the service account's numeric unique id in Google's tokens; any stable number will do here.
      const accountId = `1${config.projectNumber}`;
      const claims: Record<string, unknown> = {
        aud: audience,
        azp: accountId,
        exp: iat + 3600,
        iat,
        iss: 'https://accounts.google.com',
        sub: accountId,
      };
      if (format === 'full') Object.assign(claims, { email: config.serviceAccountEmail, email_verified: true });
      const token = key.sign(claims);
      issued.push(token);
      return reply.type('application/text').send(token);
    },
  );
  // Google's v1 certs document: kid → PEM. OAuth2Client.verifyIdToken reads it.
  app.get('/certs', async () => ({ [key.kid]: key.publicPem() }));

  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    options: config,
    key,
    get requests() {
      return requests;
    },
    identityRequests,
    issued,
    setFault(next) {
      fault = next === undefined ? undefined : { ...next };
    },
    close: () => app.close(),
  };
}
