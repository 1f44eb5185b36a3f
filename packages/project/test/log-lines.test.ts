import { describe, expect, it } from 'vitest';
import { linePrinter } from '../src/log-lines.js';

// What `pnpm dev`, `pnpm start` and `pnpm dev:cloud` show of a service's lines.

const access = JSON.stringify({
  severity: 'INFO',
  time: '2026-11-26T03:40:09.123Z',
  message: 'POST /oto/TacoService.EatTaco 200',
  serviceContext: { service: 'tacoserver' },
  reqId: 'req-1',
  'logging.googleapis.com/trace': 'projects/p/traces/abc',
  httpRequest: {
    requestMethod: 'POST',
    requestUrl: '/oto/TacoService.EatTaco',
    status: 200,
    latency: '0.004736s',
  },
});

describe('linePrinter', () => {
  const print = linePrinter({ names: ['tacoserver', 'tacoclient', 'db'] });

  it('renders an access line as method, path, status and latency, behind the service and the time', () => {
    expect(print('tacoserver', access)).toBe('tacoserver | 03:40:09 INFO  POST /oto/TacoService.EatTaco 200 4.7 ms');
  });

  it("ends an access line with the caller's user agent, runsd's prefix included", () => {
    const record = JSON.parse(access) as { httpRequest: Record<string, unknown> };
    record.httpRequest.userAgent = 'runsd version=0.1.0; taco-run-rpc/0.1.0';
    expect(print('tacoserver', JSON.stringify(record))).toBe(
      'tacoserver | 03:40:09 INFO  POST /oto/TacoService.EatTaco 200 4.7 ms from runsd version=0.1.0; taco-run-rpc/0.1.0',
    );
  });

  it('renders other lines as severity and message, with their own fields as key=value', () => {
    const line = JSON.stringify({
      severity: 'WARNING',
      time: '2026-11-26T03:40:10.000Z',
      message: 'SIGTERM: draining',
      signal: 'SIGTERM',
      pending: { requests: 2 },
    });
    expect(print('db', line)).toBe(
      'db         | 03:40:10 WARN  SIGTERM: draining signal=SIGTERM pending={"requests":2}',
    );
  });

  it("puts a logged error's stack under its line", () => {
    const line = JSON.stringify({
      severity: 'ERROR',
      time: '2026-11-26T03:40:11.000Z',
      message: 'handler failed',
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at eat (src/main.ts:12:3)' },
    });
    expect(print('tacoserver', line).split('\n')).toEqual([
      'tacoserver | 03:40:11 ERROR handler failed',
      'tacoserver |   Error: boom',
      'tacoserver |       at eat (src/main.ts:12:3)',
    ]);
  });

  it('passes lines that are not JSON through, and a slow request says its latency in whole milliseconds', () => {
    expect(print('tacoclient', 'node:internal/modules/esm/resolve:283')).toBe(
      'tacoclient | node:internal/modules/esm/resolve:283',
    );
    const slow = access.replace('0.004736s', '1.2504s');
    expect(print('tacoclient', slow)).toContain('POST /oto/TacoService.EatTaco 200 1250 ms');
  });

  it('keeps each line as written with json, and colours levels and statuses for a terminal', () => {
    expect(linePrinter({ names: ['tacoserver'], json: true })('tacoserver', access)).toBe(`tacoserver | ${access}`);
    const colored = linePrinter({ names: ['tacoserver'], color: true })('tacoserver', access);
    expect(colored).toBe(
      '\x1b[35mtacoserver |\x1b[0m 03:40:09 \x1b[32mINFO \x1b[0m POST /oto/TacoService.EatTaco \x1b[32m200\x1b[0m 4.7 ms',
    );
  });
});
