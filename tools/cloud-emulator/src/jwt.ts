import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/** An RS256 signing key made at start-up, as Google rotates its own: nothing secret is ever committed. */
export class SigningKey {
  readonly kid = randomBytes(8).toString('hex');
  readonly #privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
  }

  sign(claims: Record<string, unknown>): string {
    const header = base64url(JSON.stringify({ alg: 'RS256', kid: this.kid, typ: 'JWT' }));
    const payload = base64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.#privateKey).toString('base64url');
    return `${header}.${payload}.${signature}`;
  }

  /** The public key as PEM, which is what Google's v1 certs endpoint serves per kid. */
  publicPem(): string {
    return this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** The claims of a JWT, unverified: for tests and logs that need to look inside. */
/** The token in an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const [, token] = (text && /^Bearer\s+(\S+)$/i.exec(text.trim())) || [];
  return token;
}

/** The claims of the token in an `Authorization: Bearer` header; a test's failure when there is none. */
export function decodeBearer(value: string | string[] | undefined): ReturnType<typeof decodeJwt> {
  const token = bearerToken(value);
  if (token === undefined) throw new Error('the header holds no bearer token');
  return decodeJwt(token);
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split('.');
  const decode = (part: string | undefined) =>
    JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: decode(header), payload: decode(payload) };
}
