import { registerTacoService } from '@taco-run/generated/server';
import { createServiceApp, logArrivals, type ServiceAppOptions } from '@taco-run/service';
import type { FastifyInstance } from 'fastify';
import { tacoService } from './taco-service.js';

export function buildApp(options: Omit<ServiceAppOptions, 'name'> = {}): FastifyInstance {
  const app = createServiceApp({ name: 'tacoserver', ...options });
  // A scope of its own, so arrivals are logged (at debug) for RPC requests and not for health probes.
  app.register(async (rpc) => {
    logArrivals(rpc);
    registerTacoService(rpc, tacoService);
  });
  return app;
}
