import { describe, expect, it } from 'vitest';
import type { Service } from '../src/services.js';
import { tryItLine } from '../src/try-it.js';

// The "Try it" lines of pnpm dev:cloud and pnpm deploy:all, for each kind of service a person calls first.

const service = (fields: Partial<Service>): Service => ({
  name: 'shop',
  dir: 'services/shop',
  port: 8080,
  serves: [],
  basePath: '/oto/',
  calls: [],
  public: false,
  invokers: [],
  env: {},
  secrets: {},
  cloudRun: {},
  ...fields,
});
const token = '$(pnpm --silent emulator:token)';

describe('tryItLine', () => {
  it('gets / of a private service with a token', () => {
    expect(tryItLine(service({}), { url: 'http://127.0.0.1:5000', token })).toBe(
      '  curl -H "Authorization: Bearer $(pnpm --silent emulator:token)" http://127.0.0.1:5000',
    );
  });

  it('gets / of a public service with no token', () => {
    expect(tryItLine(service({ public: true }), { url: 'http://127.0.0.1:5000', token })).toBe(
      '  curl http://127.0.0.1:5000',
    );
  });

  it('posts the example of a method to a service that serves an API, quoted for the shell, under its base path', () => {
    const call = { method: 'MenuService.Recommend', body: `{"guest":"Sammy O'Sosa"}` };
    expect(tryItLine(service({ basePath: '/api/' }), { url: 'http://127.0.0.1:5000', token, call })).toBe(
      `  curl -H "Authorization: Bearer $(pnpm --silent emulator:token)" -H 'Content-Type: application/json' -d '{"guest":"Sammy O'\\''Sosa"}' http://127.0.0.1:5000/api/MenuService.Recommend`,
    );
  });
});
