// Baseline: the same route written by hand in Fastify, with the same JSON schemas.
import { EatTacoRequestSchema, EatTacoResponseSchema } from '@taco-run/fixture-taco-generated/schemas';
import type { EatTacoRequest } from '@taco-run/fixture-taco-generated/types';
import Fastify from 'fastify';
import { announce, eatTaco, port } from './listen.js';

const app = Fastify({ logger: false });
app.post<{ Body: EatTacoRequest }>(
  '/oto/TacoService.EatTaco',
  { schema: { body: EatTacoRequestSchema, response: { 200: EatTacoResponseSchema } } },
  async (request) => eatTaco(request.body.name, request.body.tacos),
);
await app.listen({ host: '127.0.0.1', port });
announce(app.server.address());
