import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/** A port nothing listens on right now: the system's pick for a listener on port 0, released. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
