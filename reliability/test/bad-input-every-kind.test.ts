import { codeStatus } from '@taco-run/rpc';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InventoryService,
  registerInventoryService,
} from '../../tools/otogen/test/fixtures/inventory/generated/src/server.js';

// Case 1 again, on an API with every field kind (otogen's inventory fixture: nested and optional
// objects, lists and maps of them, enums, formats, rules), where tacoserver's two fields cannot
// reach what only such an API has, such as the reading of an oto client's zero values. Each field,
// at every depth, gets each wrong value and a value nested 10 000 deep: every answer is a 4xx.

const route = '/oto/InventoryService.AddItem';
const valid = {
  item: {
    sku: 'TAC-0001',
    name: 'Corn tortillas',
    count: 24,
    price: 0.25,
    vegetarian: true,
    storage: 'shelf',
    tags: ['staple'],
    attributes: { origin: 'Oaxaca' },
    supplier: { name: 'Molino', email: 'orders@example.com', id: '6f1c2d9e-8b1a-4c3e-9f00-1a2b3c4d5e6f' },
    spice: 'mild',
  },
};
const wrong: unknown[] = [null, 0, -1, 1.5, 1e308, true, false, '', 'x', [], [1], [null], {}, { a: 1 }, [[]]];
const deep = `${'{"x":'.repeat(10_000)}0${'}'.repeat(10_000)}`;

/** Every path to a value in the valid body: `item`, `item.supplier.email`, `item.tags.0`. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const inner = Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key]));
  return prefix.length === 0 ? inner : [prefix, ...inner];
}

/** The valid body as JSON text with the value at `path` replaced by `text`. */
function withValue(path: string[], text: string): string {
  const marker = '<the value under test>';
  const copy = structuredClone(valid) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path.at(-1) as string] = marker;
  return JSON.stringify(copy).replace(JSON.stringify(marker), text);
}

function bodies(): [string, string][] {
  const cases: [string, string][] = [];
  const text = JSON.stringify(valid);
  for (let end = 0; end < text.length; end += 5) cases.push([`truncated at ${end}`, text.slice(0, end)]);
  for (const path of paths(valid)) {
    const name = path.join('.');
    for (const value of wrong)
      cases.push([`${name} = ${JSON.stringify(value)}`, withValue(path, JSON.stringify(value))]);
    cases.push([`${name} nested 10 000 deep`, withValue(path, deep)]);
    cases.push([`${name} with a __proto__ key`, withValue(path, '{"__proto__":{"polluted":1}}')]);
  }
  return cases;
}

/** The statuses the protocol table allows for bad input. */
const allowed = new Set<number>(Object.values(codeStatus).filter((status) => status >= 400 && status < 500));

describe('bad input to an API with every field kind', () => {
  const cases = bodies();
  let app: FastifyInstance;
  let origin: string;
  const errors: unknown[] = [];

  beforeAll(async () => {
    // A real server's logger, quiet: what it would log at error level (a 5xx's cause) is kept here.
    app = Fastify({
      logger: {
        level: 'error',
        stream: { write: (line: string) => errors.push(JSON.parse(line)) },
      },
    });
    const inventory: InventoryService = {
      addItem: ({ item }) => ({ item, total: 1 }),
      findItems: () => ({ items: [], counts: {}, shelves: {} }),
    };
    registerInventoryService(app, inventory);
    origin = await listenOnLoopback(app);
  });

  afterAll(() => app.close());

  it('answers hundreds of wrong bodies with a 4xx of the protocol, none with a 5xx, and the valid one 200', async () => {
    expect(cases.length).toBeGreaterThan(300);
    const statuses = new Map<string, number>();
    const queue = [...cases];
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const [name, body] = next;
        const response = await request(`${origin}${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await response.body.dump();
        statuses.set(name, response.statusCode);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const fivehundreds = [...statuses].filter(([, status]) => status >= 500);
    expect(fivehundreds).toEqual([]);
    // Some wrong values are right for some fields (0 for a count, a string for a name): those are 200.
    const neither = [...statuses].filter(([, status]) => status !== 200 && !allowed.has(status));
    expect(neither).toEqual([]);
    expect(statuses.get('item.supplier nested 10 000 deep')).toBe(400);
    expect(errors).toEqual([]);
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();

    const answer = await request(`${origin}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(valid),
    });
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toEqual({ ...valid, total: 1 });
  });
});
