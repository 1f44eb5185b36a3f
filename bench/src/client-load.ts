// One process making `total` calls with `inflight` at a time through one client, then printing
// calls per second as JSON. Run by the harness once per client and round.
import { TacoServiceClient } from '@taco-run/generated/client';
import { TacoServiceClient as WebTacoServiceClient } from '@taco-run/generated/web';
import { defaultTimeout } from '@taco-run/rpc/web';
import { request } from 'undici';

const [kind, origin, totalText = '20000', inflightText = '50'] = process.argv.slice(2);
const total = Number(totalText);
const inflight = Number(inflightText);
const order = { name: 'Sammy Sosa', tacos: ['Chicken', 'Chorizo'] };
const url = `${origin}/oto/TacoService.EatTaco`;
const headers = { 'content-type': 'application/json' };

const clients: Record<string, () => Promise<unknown>> = {
  generated: (() => {
    const client = new TacoServiceClient(`${origin}/oto/`);
    return () => client.eatTaco(order);
  })(),
  // The generated web client, on Node's own fetch: what it adds to the fetch baseline below is its own work.
  'generated web': (() => {
    const client = new WebTacoServiceClient(`${origin}/oto/`);
    return () => client.eatTaco(order);
  })(),
  // Each baseline serializes the order per call too, as a caller would: the same work, minus the client.
  undici: async () => (await request(url, { method: 'POST', headers, body: JSON.stringify(order) })).body.json(),
  fetch: async () => (await fetch(url, { method: 'POST', headers, body: JSON.stringify(order) })).json(),
  // The same calls as the web client makes, each ended at the client's default deadline, as fetch's own idiom ends one.
  'fetch with a deadline': async () =>
    (
      await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(order),
        signal: AbortSignal.timeout(defaultTimeout),
      })
    ).json(),
};
const call = clientNamed(kind);

function clientNamed(name: string | undefined): () => Promise<unknown> {
  const client = name === undefined ? undefined : clients[name];
  if (client === undefined) throw new Error(`unknown client ${name}`);
  return client;
}

async function run(count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const answer = (await call()) as { tacoConsumptionStatus?: string };
      if (answer.tacoConsumptionStatus !== 'Sammy Sosa has consumed 2 tacos')
        throw new Error(`wrong answer: ${JSON.stringify(answer)}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
}

await run(Math.min(2000, total));
const started = performance.now();
await run(total);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ callsPerSecond: total / seconds })}\n`);
process.exit(0);
