// Peer: tRPC v11 on its Fastify adapter, with zod validation.
import { initTRPC } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify from 'fastify';
import { z } from 'zod';
import { announce, eatTaco, port } from './listen.js';

const t = initTRPC.create();
const router = t.router({
  eatTaco: t.procedure
    .input(z.object({ name: z.string().min(1), tacos: z.array(z.string()).min(1) }))
    .output(z.object({ tacoConsumptionStatus: z.string() }))
    .mutation(({ input }) => eatTaco(input.name, input.tacos)),
});

const app = Fastify({ logger: false });
await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router } });
await app.listen({ host: '127.0.0.1', port });
announce(app.server.address());
