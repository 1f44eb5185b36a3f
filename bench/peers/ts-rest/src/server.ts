// Peer: ts-rest on Fastify (4, which @ts-rest/fastify requires), with zod 3 validation.
import type { AddressInfo } from 'node:net';
import { initContract } from '@ts-rest/core';
import { initServer } from '@ts-rest/fastify';
import Fastify from 'fastify';
import { z } from 'zod';

const c = initContract();
const contract = c.router({
  eatTaco: {
    method: 'POST',
    path: '/oto/TacoService.EatTaco',
    body: z.object({ name: z.string().min(1), tacos: z.array(z.string()).min(1) }),
    responses: { 200: z.object({ tacoConsumptionStatus: z.string() }) },
  },
});

const s = initServer();
const router = s.router(contract, {
  eatTaco: async ({ body }) => ({
    status: 200,
    body: { tacoConsumptionStatus: `${body.name} has consumed ${body.tacos.length} tacos` },
  }),
});

const app = Fastify({ logger: false });
app.register(s.plugin(router));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening at http://127.0.0.1:${(app.server.address() as AddressInfo).port}\n`);
