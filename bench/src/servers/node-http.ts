// Baseline: bare node:http, JSON.parse and a manual check — the raw-HTTP limit.
import { createServer } from 'node:http';
import { announce, eatTaco, port } from './listen.js';

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let body: { name?: unknown; tacos?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"malformed","code":"malformed"}');
      return;
    }
    if (
      typeof body.name !== 'string' ||
      body.name === '' ||
      !Array.isArray(body.tacos) ||
      !body.tacos.every((t) => typeof t === 'string')
    ) {
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":"invalid","code":"invalid_argument"}');
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(eatTaco(body.name, body.tacos as string[])));
  });
});
server.listen(port, '127.0.0.1', () => announce(server.address()));
