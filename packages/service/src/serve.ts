import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface ServeOptions {
  name: string;
  port: number;
  /**
   * The interface to listen on. Default: `$HOST` when set; else, on Cloud Run
   * (`K_SERVICE` set), 0.0.0.0, where Cloud Run sends its traffic; else the
   * loopback interface, so that a service on a laptop, private or not, is
   * reached only through this machine (runsd, the front door), never from the network.
   */
  host?: string;
  /**
   * How long in-flight requests get after SIGTERM. Cloud Run kills the
   * instance 10 s after SIGTERM, so the default leaves a second to exit.
   */
  drainTimeout?: number;
}

/**
 * Listens, and on SIGTERM (Cloud Run's stop), SIGINT (Ctrl-C) or SIGHUP stops taking
 * connections, lets in-flight requests finish, and exits 0. What is still open when the
 * drain window ends (an upload that stalled, say) is answered 503 `unavailable` with
 * `Connection: close`, and the service still exits 0: every request got an answer. It exits
 * 1 only when one could not be answered (its answer had begun) or closing failed.
 */
export async function serve(
  app: FastifyInstance,
  { name, port, host = listenHost(process.env), drainTimeout = 9_000 }: ServeOptions,
): Promise<number> {
  let stopping = false;
  // Node closes idle keep-alive connections when the server closes, but not the ones
  // busy at that moment; telling their clients to close lets the process end once they drain.
  // A callback, not an async function: every response passes here, and an async hook costs each a promise and a
  // turn of the microtask queue before its bytes are written.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (stopping) reply.header('connection', 'close');
    done(null, payload);
  });
  let listening: Promise<unknown> = Promise.resolve();
  // For the end of the drain window, the connections and the answers begun on each (several only when a client
  // pipelines), the finished ones dropped as the next request comes: a close listener on every answer instead cost
  // each request about 3k instructions, a tenth of what the service adds to a bare route (`pnpm bench --only
  // counted`), where a connection carries many requests.
  const connections = new Set<Socket>();
  const answers = new WeakMap<Socket, ServerResponse[]>();
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const begun = answers.get(request.socket);
    if (begun === undefined) answers.set(request.socket, [response]);
    else {
      while (begun[0]?.writableFinished === true) begun.shift();
      begun.push(response);
    }
  });

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, `${signal}: draining in-flight requests`);
    // A stop that comes while the server is still starting waits for it, then drains as any other.
    await listening.catch(() => {});
    let cutOff = 0;
    const timer = setTimeout(() => {
      const { answered, cut } = answerWhatIsOpen(openAnswers(connections, answers), name);
      cutOff = cut;
      if (cut === 0) {
        app.log.warn(`drain window of ${drainTimeout} ms over; answered ${answered} open requests 503 unavailable`);
      } else {
        app.log.error(`drain window of ${drainTimeout} ms over; ${cut} answers already begun were cut off`);
      }
      // The answers are written and their connections close as they are flushed, which ends app.close();
      // this is the bound on that.
      setTimeout(() => process.exit(cut === 0 ? 0 : 1), 500);
    }, drainTimeout);
    try {
      await app.close();
      if (cutOff === 0) app.log.info('drained; exiting');
      process.exit(cutOff === 0 ? 0 : 1);
    } catch (error) {
      app.log.error({ err: error }, 'failed to close cleanly');
      process.exit(1);
    } finally {
      clearTimeout(timer);
    }
  };
  // Before listening, not after: the "listening" line goes out before listen() returns, and a
  // signal in between (a supervisor that stops what it just saw start) would otherwise kill the
  // process outright. SIGHUP too: runsd passes it on (a closed terminal sends it), and by default
  // it would kill mid-request.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, (name) => void stop(name));
  listening = app.listen({ port, host, listenTextResolver: (address) => `${name} listening at ${address}` });
  await listening;
  return (app.server.address() as AddressInfo).port;
}

/** Where a service listens unless told: see ServeOptions.host. */
export function listenHost(env: NodeJS.ProcessEnv): string {
  if (env.HOST !== undefined && env.HOST !== '') return env.HOST;
  return env.K_SERVICE === undefined || env.K_SERVICE === '' ? '127.0.0.1' : '0.0.0.0';
}

/** The answers not yet finished, in the order each connection's requests came. */
function openAnswers(connections: ReadonlySet<Socket>, answers: WeakMap<Socket, ServerResponse[]>): ServerResponse[] {
  const open: ServerResponse[] = [];
  for (const socket of connections) {
    for (const response of answers.get(socket) ?? []) {
      if (!response.writableFinished && !response.destroyed) open.push(response);
    }
  }
  return open;
}

/** At the end of the drain window: an answer for each request still open, or its connection cut if its answer had begun. */
function answerWhatIsOpen(open: readonly ServerResponse[], name: string): { answered: number; cut: number } {
  let answered = 0;
  let cut = 0;
  for (const response of open) {
    if (response.headersSent) {
      response.destroy();
      cut++;
      continue;
    }
    const body = JSON.stringify({ error: `${name} is stopping`, code: 'unavailable' });
    response.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    response.end(body);
    answered++;
  }
  return { answered, cut };
}
