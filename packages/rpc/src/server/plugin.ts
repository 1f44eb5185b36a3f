import type { ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { RpcError } from '../error.js';
import { RequestContext, type RpcContext } from './context.js';
import { sendRpcError } from './errors.js';
import { compileGoReading } from './go-shapes.js';
import { compileResponseValidator, compileValidator, describeValidationErrors, type JsonSchema } from './validation.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** On an RPC route, the method's wire name, `TacoService.EatTaco`: what its span is named. */
    rpcMethod?: string;
  }
}

/** One method as generated code describes it. */
export interface RpcMethod {
  /** The PascalCase name on the wire: `EatTaco`. */
  name: string;
  request: JsonSchema;
  response: JsonSchema;
  handler(request: never, context: RpcContext): unknown;
  /** The request's validator, compiled ahead of time by otogen; compiled here when absent. */
  validate?: ValidateFunction;
  /** The response's check (see compileResponseValidator), compiled ahead of time by otogen; compiled here when absent. */
  checkResponse?: ValidateFunction;
  /** The response's serializer, compiled ahead of time by otogen (fast-json-stringify's); Fastify compiles one when absent. */
  serialize?: (response: unknown) => string;
}

/** A service's routes, made by the generated `<service>Routes(impl)`. */
export interface RpcService {
  name: string;
  methods: readonly RpcMethod[];
}

export interface RpcServerOptions {
  /** Where the routes live. Default `/oto/`, as oto's own server. */
  basePath?: string;
  /** The largest request body accepted, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /**
   * Check every response against its schema before it is sent (a violation
   * answers 500 internal and is logged with the field and the rule). Default:
   * on, unless the environment says RPC_CHECK_RESPONSES=false.
   */
  checkResponses?: boolean;
  /**
   * The origins whose pages may call these routes from a browser (CORS), or
   * `*` for any page. Default: CORS_ORIGINS, comma-separated, which the dev
   * runner, the emulator and the deploy set from service.json's
   * `cors.origins`. With none, answers carry no CORS headers and a preflight
   * `OPTIONS` is refused with 405, as any method but POST.
   */
  corsOrigins?: readonly string[];
}

export const defaultBodyLimit = 1024 * 1024;

/** The largest body read and dropped after a 413, rather than cut off: Cloud Run refuses larger requests itself. */
const lingerLimit = 32 * 1024 * 1024;

function declaredLength(request: FastifyRequest): number {
  const length = Number(request.headers['content-length']);
  return Number.isFinite(length) ? length : Number.POSITIVE_INFINITY;
}

interface PluginOptions extends RpcServerOptions {
  services: readonly RpcService[];
}

/** The services mounted at one base path of one server, gathered until its scope loads. */
interface Mount {
  app: FastifyInstance;
  services: RpcService[];
  options: string;
  loaded: boolean;
}

/** Per server, its mounts by full path: a base path has one scope, one not-found handler, one CORS set-up. */
const mounts = new WeakMap<object, Map<string, Mount>>();

/**
 * Mounts services under one base path, in their own Fastify scope: the strict
 * JSON parser, the validator and the error mapping apply to these routes and
 * to nothing else in the app. Called again for the same base path on the same
 * instance before it starts (as `registerKitchenService(app, …)` then
 * `registerPantryService(app, …)` do), it adds the services to that scope.
 */
export function registerRpcServices(
  app: FastifyInstance,
  services: readonly RpcService[],
  options: RpcServerOptions = {},
): FastifyInstance {
  const prefix = normalizeBasePath(options.basePath ?? '/oto/');
  const byPath = mounts.get(app.server) ?? new Map<string, Mount>();
  mounts.set(app.server, byPath);
  const path = `${app.prefix}${prefix}`;
  const mounted = byPath.get(path);
  if (mounted !== undefined) {
    const names = [...mounted.services, ...services].map((service) => service.name).join(', ');
    const problem =
      mounted.app !== app
        ? 'from another Fastify scope'
        : mounted.loaded
          ? 'after the app has loaded its plugins'
          : mounted.options !== JSON.stringify(options)
            ? 'with other options'
            : undefined;
    if (problem !== undefined) {
      throw new Error(
        `${names} share the base path ${path}/ but were registered ${problem}; ` +
          'mount them in one call, registerRpcServices(app, [<api>Routes(impl), ...], options)',
      );
    }
    mounted.services.push(...services);
    return app;
  }
  const mount: Mount = { app, services: [...services], options: JSON.stringify(options), loaded: false };
  byPath.set(path, mount);
  return app.register(
    async (scope, pluginOptions: PluginOptions) => {
      mount.loaded = true;
      await rpcPlugin(scope, { ...pluginOptions, services: mount.services });
    },
    { ...options, services: mount.services, prefix },
  );
}

const rpcPlugin: FastifyPluginAsync<PluginOptions> = async (
  app,
  {
    services,
    bodyLimit = defaultBodyLimit,
    checkResponses = process.env.RPC_CHECK_RESPONSES !== 'false',
    corsOrigins = originsIn(process.env.CORS_ORIGINS),
  },
) => {
  if (corsOrigins.length > 0) await allowPagesFrom(app, corsOrigins);

  // Only JSON: Fastify's default text/plain parser would let a string body reach validation.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, parseJson);

  // For methods without precompiled validators (see precompiledCompilers).
  app.setValidatorCompiler(({ schema }) => compileValidator(schema as JsonSchema));
  app.setErrorHandler((error, request, reply) => sendRpcError(error, request, reply));
  // A body over the limit is refused before it is read, and Fastify then closes the connection: the
  // kernel resets a connection closed with data unread, and a client still writing the body (runsd's
  // proxy streaming it, say) loses the 413 to its failed write. So the rest is read and dropped
  // instead, and the connection stays open, up to Cloud Run's own limit on a request (32 MiB).
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode === 413 && !request.raw.complete && declaredLength(request) <= lingerLimit) {
      reply.removeHeader('connection');
      request.raw.resume();
    }
    done(null, payload);
  });

  const routes = new Set<string>();
  for (const service of services) {
    for (const method of service.methods) {
      const url = `/${service.name}.${method.name}`;
      const checkResponse = checkResponses
        ? (method.checkResponse ?? compileResponseValidator(method.response))
        : undefined;
      const readGo = compileGoReading(method.request);
      routes.add(app.prefix + url);
      app.post(url, {
        bodyLimit,
        config: { rpcMethod: `${service.name}.${method.name}` },
        schema: { body: method.request, response: { 200: method.response } },
        ...precompiledCompilers(method),
        // An oto Go client's nulls and zero values, read as it means them before the body is validated.
        preValidation: (request, _reply, done) => {
          request.body = readGo(request.body);
          done();
        },
        handler: async (request, reply) => {
          // A handler that returns nothing answers `{}`; the response schema then decides if that is allowed.
          const response = (await method.handler(request.body as never, new RequestContext(request, reply))) ?? {};
          if (checkResponse !== undefined && !checkResponse(response)) {
            const { message } = describeValidationErrors(checkResponse.errors ?? [], method.response);
            // The caller learns only that the call failed; the log says which field broke which rule.
            throw new RpcError('internal', 'internal error', {
              cause: new Error(`${service.name}.${method.name} answered outside its schema: ${message}`),
            });
          }
          return response;
        },
      });
    }
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (routes.has(path)) {
      reply.header('allow', 'POST');
      return sendRpcError(
        new RpcError('method_not_allowed', `${request.method} is not allowed; RPC calls use POST`),
        request,
        reply,
      );
    }
    const name = path.slice(app.prefix.length + 1);
    return sendRpcError(
      new RpcError('bad_route', `no RPC method ${JSON.stringify(name)} at ${app.prefix}/`),
      request,
      reply,
    );
  });
};

/**
 * CORS for the routes of this scope, through @fastify/cors, loaded only by a
 * service that allows some origin. A preflight is answered before any other
 * hook, and allows what a call sends: POST, its JSON, a bearer token and the
 * caller's trace. A browser caches the answer for ten minutes.
 */
async function allowPagesFrom(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const { default: cors } = await import('@fastify/cors');
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['POST'],
    allowedHeaders: ['Content-Type', 'Authorization', 'traceparent'],
    maxAge: 600,
  });
}

/** What CORS_ORIGINS must be, said by the plugin and by the service kit's check of the environment. */
export const corsOriginsRule =
  'must list origins such as https://app.example.com (a scheme and a host, and a port if not the default; no path), or *';

/** CORS_ORIGINS as a list, each checked: a mistyped origin would otherwise just never match. */
function originsIn(text: string | undefined): string[] {
  const origins = originList(text);
  const wrong = origins.find((origin) => !isOrigin(origin));
  if (wrong !== undefined) throw new Error(`CORS_ORIGINS ${corsOriginsRule}; got ${JSON.stringify(wrong)}`);
  return origins;
}

/** A comma-separated list of origins, as CORS_ORIGINS holds it, unchecked. */
export function originList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
}

/** `*`, or an origin as a browser sends it: `https://app.example.com`, `http://localhost:5173`. */
export function isOrigin(text: string): boolean {
  return (
    text === '*' || (URL.canParse(text) && /^https?:$/.test(new URL(text).protocol) && new URL(text).origin === text)
  );
}

/**
 * Route options that hand Fastify the method's precompiled validator and
 * serializer, when it has them (generated services do), so that the route
 * compiles nothing at start-up; without them the scope's compilers serve.
 */
function precompiledCompilers(method: RpcMethod): {
  validatorCompiler?: () => ValidateFunction;
  serializerCompiler?: () => (response: unknown) => string;
} {
  const { validate, serialize } = method;
  return {
    ...(validate === undefined ? {} : { validatorCompiler: () => validate }),
    ...(serialize === undefined ? {} : { serializerCompiler: () => serialize }),
  };
}

function normalizeBasePath(basePath: string): string {
  const trimmed = basePath.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}
