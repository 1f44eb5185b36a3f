import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serviceTestDatabase } from '@taco-run/database/testing';
import { type ServiceProcess, startService } from '@taco-run/project/process';
import { findChromium } from '@taco-run/project/testing';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The generated web client in a real browser (Debian's chromium through playwright-core): a page served
// from one origin calls tacoserver, public with CORS for that origin, on another. A page from a third
// origin, which tacoserver does not allow, is refused by the browser itself.

const bundle = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// tacoserver keeps each order in its own database: a migrated one, as the deploy leaves it.
const database = serviceTestDatabase(fileURLToPath(new URL('../../../', import.meta.url)), 'tacoserver');
beforeAll(database.start, 60_000);
afterAll(database.stop);
const executablePath = findChromium();
if (executablePath === undefined) {
  process.stdout.write(
    'web client browser test skipped: no chromium on PATH (apt-get install chromium, or set CHROMIUM)\n',
  );
}

/** What the page's script reports of one call: the answer, or the error as the web client threw it. */
type Outcome =
  | { answer: string }
  | { name: string; isRpcError: boolean; code: string; message: string; details?: unknown };

/** The page's script: the generated web client, bundled for the browser as an app would bundle it. */
const script = `
import { TacoServiceClient, isRpcError } from '@taco-run/generated/web';

window.eat = async (baseUrl, name) => {
  try {
    const answer = await new TacoServiceClient(baseUrl, { retry: false, timeout: 5000 }).eatTaco({
      name,
      tacos: ['Chicken', 'Chorizo'],
    });
    return { answer: answer.tacoConsumptionStatus };
  } catch (error) {
    return { name: error.name, isRpcError: isRpcError(error), code: error.code, message: error.message, details: error.details };
  }
};
`;

/** A page server: its own origin, serving the page and its script. */
async function pageServer(code: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    if (request.url === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>tacos</title><script src="/app.js"></script>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.skipIf(executablePath === undefined || database.missing !== undefined)(
  'the web client in a browser, across origins',
  () => {
    let allowed: Awaited<ReturnType<typeof pageServer>>;
    let other: Awaited<ReturnType<typeof pageServer>>;
    let tacoserver: ServiceProcess;
    let browser: Browser;

    beforeAll(async () => {
      const built = await build({
        stdin: { contents: script, resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'js' },
        bundle: true,
        format: 'iife',
        platform: 'browser',
        write: false,
        logLevel: 'silent',
      });
      const code = built.outputFiles[0]?.text ?? '';
      allowed = await pageServer(code);
      other = await pageServer(code);
      // As the tools start a public service whose service.json has cors.origins: [<the page's origin>].
      tacoserver = await startService(bundle, { CORS_ORIGINS: allowed.origin, DATABASE_URL: database.url });
      // Headless; without the sandbox, which needs privileges a CI container (root, no user namespaces) lacks.
      browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      expect(await tacoserver?.stop()).toBe(0);
      for (const page of [allowed, other]) page?.server.close();
    });

    async function eatFrom(pageOrigin: string, name: string): Promise<Outcome> {
      const page = await browser.newPage();
      try {
        await page.goto(pageOrigin);
        return await page.evaluate(
          ([baseUrl, eater]) =>
            (globalThis as unknown as { eat(b: string, n: string): Promise<Outcome> }).eat(baseUrl, eater),
          [`${tacoserver.origin}/oto/`, name] as const,
        );
      } finally {
        await page.close();
      }
    }

    it('reads the taco line from a page on an allowed origin', async () => {
      expect(await eatFrom(allowed.origin, 'Sammy Sosa')).toEqual({ answer: 'Sammy Sosa has consumed 2 tacos' });
    });

    it('gets a validation failure as RpcError invalid_argument, with its details', async () => {
      expect(await eatFrom(allowed.origin, '')).toEqual({
        name: 'RpcError',
        isRpcError: true,
        code: 'invalid_argument',
        message: 'EatTacoRequest.Name is required',
        details: [{ path: 'name', message: 'EatTacoRequest.Name is required' }],
      });
    });

    it('is refused by the browser on an origin tacoserver does not allow', async () => {
      // The browser hides why (it is CORS) from the page: fetch fails, which the client reports as unavailable.
      expect(await eatFrom(other.origin, 'Sammy Sosa')).toMatchObject({
        name: 'RpcError',
        isRpcError: true,
        code: 'unavailable',
        message: `cannot reach ${tacoserver.origin}: Failed to fetch`,
      });
    });
  },
);
