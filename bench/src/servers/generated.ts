// The generated TacoService route, as a service mounts it.
import { registerTacoService, unimplementedTacoService } from '@taco-run/fixture-taco-generated/server';
import Fastify from 'fastify';
import { announce, eatTaco, port } from './listen.js';

const app = Fastify({ logger: false });
// Only EatTaco is measured; other methods the definitions may grow answer 501.
registerTacoService(app, {
  ...unimplementedTacoService(),
  eatTaco: (request) => eatTaco(request.name, request.tacos),
});
await app.listen({ host: '127.0.0.1', port });
announce(app.server.address());
