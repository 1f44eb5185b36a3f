// Baseline of the database row: the same route written by hand in Fastify, with the same JSON schemas, storing
// each order with node-postgres as the service does: one insert, as a parameterised query, from a pool of the
// service's default size.
import { EatTacoRequestSchema, EatTacoResponseSchema } from '@taco-run/fixture-taco-generated/schemas';
import type { EatTacoRequest } from '@taco-run/fixture-taco-generated/types';
import Fastify from 'fastify';
import pg from 'pg';
import { announce, eatTaco, port } from './listen.js';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = Fastify({ logger: false });
app.post<{ Body: EatTacoRequest }>(
  '/oto/TacoService.EatTaco',
  { schema: { body: EatTacoRequestSchema, response: { 200: EatTacoResponseSchema } } },
  async (request) => {
    const { name, tacos } = request.body;
    await pool.query('insert into taco_orders (name, tacos) values ($1, $2)', [name, tacos]);
    return eatTaco(name, tacos);
  },
);
await app.listen({ host: '127.0.0.1', port });
announce(app.server.address());
