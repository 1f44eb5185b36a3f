import { TacoServiceClient } from '@taco-run/generated/client';
import { isRpcError, RpcError } from '@taco-run/rpc';
import { createServiceApp, type ServiceAppOptions } from '@taco-run/service';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

export interface TacoClientOptions extends Omit<ServiceAppOptions, 'name'> {
  /** Where TacoService lives. The short name `http://tacoserver/oto/` is resolved by runsd. */
  tacoserverUrl: string;
  /** How long tacoserver gets to answer, in ms. */
  timeout: number;
}

const defaultOrder = { name: 'Sammy Sosa', tacos: ['Chicken', 'Chorizo'] };

/** `?name=` and `?tacos=a,b`, each given at most once; a repeated one arrives as an array and is refused. */
const once = (what: string) => z.string({ message: `must be given once, as ${what}` }).optional();
const orderQuery = z.object({ name: once('a name'), tacos: once('a comma-separated list') });
const tallyQuery = z.object({ name: once('a name') });

export function buildApp({ tacoserverUrl, timeout, ...options }: TacoClientOptions): FastifyInstance {
  const app = createServiceApp({ name: 'tacoclient', ...options });
  const tacos = new TacoServiceClient(tacoserverUrl, { timeout });

  /**
   * Eats Sammy Sosa's tacos by default. `?name=` and `?tacos=a,b` change the
   * order, which lets a caller see tacoserver's validation through this hop.
   */
  app.get('/', async (request, reply) => {
    reply.type('text/plain; charset=utf-8');
    const query = orderQuery.safeParse(request.query);
    if (!query.success) {
      const field = String(query.error.issues[0]?.path[0] ?? 'the query');
      return reply.code(400).send(`tacoclient: ?${field} ${query.error.issues[0]?.message ?? 'is not valid'}\n`);
    }
    const { name = defaultOrder.name, tacos: list } = query.data;
    const order = {
      name,
      tacos: list === undefined ? defaultOrder.tacos : list.split(',').filter((taco) => taco !== ''),
    };
    try {
      const { tacoConsumptionStatus } = await tacos.eatTaco(order);
      return tacoConsumptionStatus;
    } catch (caught) {
      return sendFailure(caught, request, reply, tacoserverUrl);
    }
  });

  /** What someone (`?name=`, Sammy Sosa by default) has eaten so far, as tacoserver has kept it. */
  app.get('/tally', async (request, reply) => {
    reply.type('text/plain; charset=utf-8');
    const query = tallyQuery.safeParse(request.query);
    if (!query.success) {
      return reply.code(400).send(`tacoclient: ?name ${query.error.issues[0]?.message ?? 'is not valid'}\n`);
    }
    const { name = defaultOrder.name } = query.data;
    try {
      const tally = await tacos.tacoTally({ name });
      return `${name} has eaten ${count(tally.tacos, 'taco')} in ${count(tally.orders, 'order')}`;
    } catch (caught) {
      return sendFailure(caught, request, reply, tacoserverUrl);
    }
  });
  return app;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** A failed call to tacoserver, answered with the status that says whose fault it was, and logged. */
function sendFailure(caught: unknown, request: FastifyRequest, reply: FastifyReply, tacoserverUrl: string) {
  const error = isRpcError(caught) ? caught : new RpcError('unknown', String(caught));
  const status = statusFor(error);
  request.log[status === 400 ? 'info' : 'warn'](
    { code: error.code, upstreamStatus: error.status },
    `tacoserver call failed: ${error.message}`,
  );
  return reply.code(status).send(`tacoserver (${tacoserverUrl}) failed: ${error.code}: ${error.message}\n`);
}

/**
 * A rejected order is the caller's mistake and stays a 400. Anything else is
 * tacoserver failing us: 504 when it was too slow, 502 otherwise.
 */
function statusFor(error: RpcError): number {
  if (error.code === 'invalid_argument') return 400;
  if (error.code === 'deadline_exceeded') return 504;
  return 502;
}
