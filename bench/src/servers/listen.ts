import type { AddressInfo } from 'node:net';

/** Every bench server says where it listens in the line the harness waits for. */
export function announce(address: AddressInfo | string | null): void {
  const { port } = address as AddressInfo;
  process.stdout.write(`listening at http://127.0.0.1:${port}\n`);
}

export const port = Number(process.env.PORT ?? 0);

/** The one answer every server gives, so they all do the same work. */
export function eatTaco(name: string, tacos: string[]): { tacoConsumptionStatus: string } {
  return { tacoConsumptionStatus: `${name} has consumed ${tacos.length} tacos` };
}
