// One process calling through one client with `inflight` calls at a time for `seconds`, after half a second of
// warm-up, then printing calls per second as JSON. Run by the harness once per client and round. A fixed time
// rather than a fixed count: a count that takes the fastest client one second measured mostly its warm-up and
// the machine's jitter (rounds of 20 000 calls put the generated client anywhere from 0.58x to 1.47x
// undici.request in one run), and gave the slow fetch clients four times as long as the fast ones.
import { TacoServiceClient } from '@taco-run/fixture-taco-generated/client';
import { TacoServiceClient as WebTacoServiceClient } from '@taco-run/fixture-taco-generated/web';
import { defaultTimeout } from '@taco-run/rpc/web';
import { request } from 'undici';

const [kind, origin, secondsText = '3', inflightText = '50'] = process.argv.slice(2);
const seconds = Number(secondsText);
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

/** Calls with `inflight` in flight until `ms` have passed, checking every answer; how many were answered. */
async function callFor(ms: number): Promise<number> {
  const end = performance.now() + ms;
  let answered = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const answer = (await call()) as { tacoConsumptionStatus?: string };
      if (answer.tacoConsumptionStatus !== 'Sammy Sosa has consumed 2 tacos')
        throw new Error(`wrong answer: ${JSON.stringify(answer)}`);
      answered++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return answered;
}

await callFor(500);
const started = performance.now();
const answered = await callFor(seconds * 1000);
const elapsed = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ callsPerSecond: answered / elapsed })}\n`);
process.exit(0);
