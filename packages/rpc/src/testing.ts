import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { type RpcService, registerRpcServices } from './server/plugin.js';

/** Starts `app` on a free loopback port, as tests do, and returns its origin (`http://127.0.0.1:<port>`). */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** A call a fake's handler got: the method's wire name and the request as the handler saw it (validated). */
export interface FakeCall {
  method: string;
  request: unknown;
}

/** A service faked for a test: where it listens, what it was asked, and how to stop it. */
export interface Fake {
  /** `http://127.0.0.1:<port>`: what routeShortNames sends the callee's short name to. */
  origin: string;
  /** Every call that reached a handler, in order, unimplemented methods included. */
  readonly calls: FakeCall[];
  close(): Promise<void>;
}

/**
 * Serves on loopback, as one service, the APIs a callee serves (`fake<Api>(methods)` from the
 * generated `fakes` entry, one per API), through the same plugin a real service mounts its APIs
 * with. A caller meets the real protocol: its requests validated (400 invalid_argument), its
 * answers checked against the API and serialized, and RpcErrors sent with their codes.
 */
export async function serveFake(
  services: RpcService | readonly RpcService[],
  options: { basePath?: string } = {},
): Promise<Fake> {
  const calls: FakeCall[] = [];
  const recorded = (Array.isArray(services) ? services : [services]).map(
    (service: RpcService): RpcService => ({
      name: service.name,
      methods: service.methods.map((method) => ({
        ...method,
        handler: (request: never, context) => {
          calls.push({ method: `${service.name}.${method.name}`, request });
          return method.handler(request, context);
        },
      })),
    }),
  );
  const app = Fastify();
  // What the test process's environment says (CORS_ORIGINS, RPC_CHECK_RESPONSES) is the service's, not the fake's.
  registerRpcServices(app, recorded, { basePath: options.basePath, corsOrigins: [], checkResponses: true });
  const origin = await listenOnLoopback(app);
  return { origin, calls, close: () => app.close() };
}

/**
 * Sends calls to `http://<name>/...` to the origins given, by name, as runsd does for a service under
 * `pnpm dev`: through undici's global dispatcher, which the generated clients use, so the code under
 * test calls its callees by their short names, unchanged. Other hosts go where they say. Returns
 * what puts the previous dispatcher back.
 */
export function routeShortNames(origins: Readonly<Record<string, string>>): () => Promise<void> {
  const previous = getGlobalDispatcher();
  const agent = new Agent().compose(
    (dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] =>
      (options, handler) => {
        const name = new URL(String(options.origin)).hostname;
        const origin = Object.hasOwn(origins, name) ? origins[name] : undefined;
        return dispatch(origin === undefined ? options : { ...options, origin }, handler);
      },
  );
  setGlobalDispatcher(agent);
  return async () => {
    setGlobalDispatcher(previous);
    await agent.close();
  };
}
