import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Starts `app` on a free loopback port, as tests do, and returns its origin (`http://127.0.0.1:<port>`). */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}
