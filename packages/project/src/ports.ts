import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/** A port number written as text, `0` to `65535` (digits only), else undefined: how every tool reads one. */
export function portNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65_535 ? port : undefined;
}

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
