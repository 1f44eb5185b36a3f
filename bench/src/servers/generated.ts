// The generated TacoService route, as a service mounts it.
import { registerTacoService } from '@taco-run/generated/server';
import Fastify from 'fastify';
import { announce, eatTaco, port } from './listen.js';

const app = Fastify({ logger: false });
registerTacoService(app, { eatTaco: (request) => eatTaco(request.name, request.tacos) });
await app.listen({ host: '127.0.0.1', port });
announce(app.server.address());
