// Peer: Connect-ES v2 on @connectrpc/connect-fastify, from bench/proto/taco.proto via buf + protoc-gen-es.
import { fastifyConnectPlugin } from '@connectrpc/connect-fastify';
import Fastify from 'fastify';
import { TacoService } from '../gen/taco_pb.js';
import { announce, eatTaco, port } from './listen.js';

const app = Fastify({ logger: false });
await app.register(fastifyConnectPlugin, {
  routes: (router) => router.service(TacoService, { eatTaco: (request) => eatTaco(request.name, request.tacos) }),
});
await app.listen({ host: '127.0.0.1', port });
announce(app.server.address());
