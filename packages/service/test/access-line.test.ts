import { listenOnLoopback } from '@taco-run/rpc/testing';
import { runInTrace, traceOfRequest } from '@taco-run/rpc/trace';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudRunLogController, cloudLoggingOptions } from '../src/index.js';

/** Access lines as a service's logger writes them, kept instead of sent to stdout. */
function lineSink(): { lines: string[]; write(text: string): void } {
  const lines: string[] = [];
  return { lines, write: (text) => lines.push(...text.split('\n').filter((line) => line.includes('"httpRequest"'))) };
}

const project = 'taco-project';
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A service's logging as createServiceApp sets it up, its lines kept in `sink`. */
async function loggingApp(sink: ReturnType<typeof lineSink>, level = 'info', traced = true): Promise<string> {
  app = Fastify({
    logger: { ...cloudLoggingOptions(level, 'menu', project), stream: sink },
    logController: new CloudRunLogController({ project }),
  });
  if (traced) app.addHook('onRequest', (req, _reply, done) => runInTrace(traceOfRequest(req.headers), done));
  app.get('/*', async () => ({ ok: true }));
  return listenOnLoopback(app);
}

/** The line pino itself writes for the same fields, bindings and trace. */
function pinoLine(line: Record<string, unknown>, level: 'info' | 'debug', traced: boolean): string {
  const sink = lineSink();
  const logger = pino({ ...cloudLoggingOptions('debug', 'menu', project) }, sink).child({ reqId: line.reqId });
  const write = () => logger[level]({ httpRequest: line.httpRequest }, String(line.message));
  if (traced) runInTrace(traceOfRequest({ traceparent: traceparent }), write);
  else write();
  return sink.lines[0] ?? '';
}

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const sameTime = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"');

describe('the access line', () => {
  it.each([
    ['a plain request', '/tacos', { 'user-agent': 'menu-test/1.0' }],
    ['a URL and a user agent that need escaping', '/tacos?q=%22x%22&name=\\', { 'user-agent': 'a "quoted"\tagent\\' }],
    ['no user agent', '/tacos', {}],
  ])('is the line pino would write: %s', async (_case, path, headers: Record<string, string>) => {
    const sink = lineSink();
    const origin = await loggingApp(sink);
    const response = await request(`${origin}${path}`, { headers: { ...headers, traceparent } });
    await response.body.text();
    await app?.close();
    const [line] = sink.lines;
    const parsed = JSON.parse(line ?? '');
    expect(parsed).toMatchObject({
      severity: 'INFO',
      serviceContext: { service: 'menu' },
      reqId: 'req-1',
      'logging.googleapis.com/trace': `projects/${project}/traces/4bf92f3577b34da6a3ce929d0e0e4736`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
      httpRequest: { requestMethod: 'GET', requestUrl: path, status: 200, remoteIp: '127.0.0.1', protocol: 'HTTP/1.1' },
      message: `GET ${path} 200`,
    });
    expect(parsed.httpRequest.userAgent).toBe(headers['user-agent']);
    expect(sameTime(line ?? '')).toBe(sameTime(pinoLine(parsed, 'info', true)));
  });

  it('is at debug for a health probe, and carries no trace fields outside a trace', async () => {
    const sink = lineSink();
    const origin = await loggingApp(sink, 'debug', false);
    await (await request(`${origin}/healthz?full=1`)).body.text();
    await app?.close();
    const [line] = sink.lines;
    const parsed = JSON.parse(line ?? '');
    expect(parsed).toMatchObject({ severity: 'DEBUG', message: 'GET /healthz?full=1 200' });
    expect(Object.keys(parsed).some((key) => key.startsWith('logging.googleapis.com/'))).toBe(false);
    expect(sameTime(line ?? '')).toBe(sameTime(pinoLine(parsed, 'debug', false)));
  });

  it('is not written for a health probe at info', async () => {
    const sink = lineSink();
    const origin = await loggingApp(sink);
    await (await request(`${origin}/healthz`)).body.text();
    await (await request(`${origin}/tacos`)).body.text();
    await app?.close();
    expect(sink.lines.map((line) => JSON.parse(line).message)).toEqual(['GET /tacos 200']);
  });
});
