import { once } from 'node:events';
import { connect } from 'node:net';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ConfigError, createServiceApp, httpUrl, logLevel, milliseconds, parseEnv, port } from '../src/index.js';

describe('parseEnv', () => {
  const shape = {
    PORT: port(8080),
    UPSTREAM: httpUrl('http://tacoserver/oto/'),
    TIMEOUT_MS: milliseconds(1000),
    LOG_LEVEL: logLevel,
  };

  it('applies defaults', () => {
    expect(parseEnv(shape, {})).toEqual({
      PORT: 8080,
      UPSTREAM: 'http://tacoserver/oto/',
      TIMEOUT_MS: 1000,
      LOG_LEVEL: 'info',
    });
  });

  it('parses given values', () => {
    expect(
      parseEnv(shape, { PORT: '0', UPSTREAM: 'https://x.run.app/oto/', TIMEOUT_MS: '250', LOG_LEVEL: 'debug' }),
    ).toEqual({
      PORT: 0,
      UPSTREAM: 'https://x.run.app/oto/',
      TIMEOUT_MS: 250,
      LOG_LEVEL: 'debug',
    });
  });

  it('names every bad variable and its value in one message', () => {
    expect(() => parseEnv(shape, { PORT: 'abc', UPSTREAM: 'ftp://x', TIMEOUT_MS: '1.5', LOG_LEVEL: 'loud' })).toThrow(
      new ConfigError(
        'PORT must be a port number from 0 to 65535, got "abc"; UPSTREAM must be an http:// or https:// URL, got "ftp://x"; ' +
          'TIMEOUT_MS must be a whole number of milliseconds, got "1.5"; LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      ),
    );
  });

  it('refuses a port above 65535', () => {
    expect(() => parseEnv(shape, { PORT: '70000' })).toThrow('PORT must be a port number from 0 to 65535, got "70000"');
  });
});

describe('a service app', () => {
  it.each([
    ['/nowhere', 404, { error: 'no route for GET /nowhere', code: 'not_found' }],
    ['//healthz', 404, { error: 'no route for GET //healthz', code: 'not_found' }],
    ['/HEALTHZ', 404, { error: 'no route for GET /HEALTHZ', code: 'not_found' }],
    ['/oto/%zz', 400, { error: 'the URL is not valid: it has a bad %-escape or character', code: 'malformed' }],
  ])('answers %s in the protocol shape, with a code from the table', async (path, status, body) => {
    const app = createServiceApp({ name: 'probe', logLevel: 'silent' });
    const origin = await listenOnLoopback(app);
    try {
      const response = await request(`${origin}${path}`);
      expect(response.statusCode).toBe(status);
      expect(await response.body.json()).toEqual(body);
    } finally {
      await app.close();
    }
  });

  it('answers a route that throws with 500 internal, and nothing of the error', async () => {
    const app = createServiceApp({ name: 'probe', logLevel: 'silent' });
    app.get('/broken', async () => {
      throw new Error('the database password is hunter2');
    });
    const origin = await listenOnLoopback(app);
    try {
      const response = await request(`${origin}/broken`);
      expect(response.statusCode).toBe(500);
      expect(await response.body.json()).toEqual({ error: 'internal error', code: 'internal' });
    } finally {
      await app.close();
    }
  });
});

describe('a stalled request', () => {
  it('is answered 504 deadline_exceeded once its timeout passes, and its connection closed', async () => {
    const app = createServiceApp({ name: 'probe', logLevel: 'silent', requestTimeoutSeconds: 1 });
    app.post('/upload', async () => ({ ok: true }));
    const origin = new URL(await listenOnLoopback(app));
    try {
      const socket = connect(Number(origin.port), origin.hostname);
      await once(socket, 'connect');
      // Headers and a length, then a part of the body, then nothing.
      socket.write(
        'POST /upload HTTP/1.1\r\nhost: probe\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":',
      );
      const started = Date.now();
      let answer = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        answer += chunk;
      });
      await once(socket, 'close');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(answer).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n/);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
        error: 'the request did not arrive within 1 s',
        code: 'deadline_exceeded',
      });
    } finally {
      await app.close();
    }
  });

  it('takes its timeout from REQUEST_TIMEOUT_SECONDS, and names the variable when it is wrong', () => {
    process.env.REQUEST_TIMEOUT_SECONDS = 'soon';
    try {
      expect(() => createServiceApp({ name: 'probe' })).toThrow(
        'REQUEST_TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600, got "soon"',
      );
    } finally {
      delete process.env.REQUEST_TIMEOUT_SECONDS;
    }
  });
});
