import { openDatabase } from '@taco-run/database';
import { registerTacoService } from '@taco-run/generated/server';
import { createServiceApp, logArrivals, type ServiceAppOptions } from '@taco-run/service';
import type { FastifyInstance } from 'fastify';
import { schema, type Tables } from './database.generated.js';
import { tacoService } from './taco-service.js';

export interface TacoServerOptions extends Omit<ServiceAppOptions, 'name'> {
  /** tacoserver's own PostgreSQL: DATABASE_URL, which the tools set. Connected to at the first query. */
  databaseUrl: string;
}

export function buildApp({ databaseUrl, ...options }: TacoServerOptions): FastifyInstance {
  const app = createServiceApp({ name: 'tacoserver', ...options });
  const database = openDatabase<Tables>({ url: databaseUrl, log: app.log, ...schema });
  // After the last request has drained: its queries are done by then.
  app.addHook('onClose', () => database.close());
  // A scope of its own, so arrivals are logged (at debug) for RPC requests and not for health probes.
  app.register(async (rpc) => {
    logArrivals(rpc);
    registerTacoService(rpc, tacoService(database));
  });
  return app;
}
