import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findChromium, fixtureProject } from '@taco-run/project/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'tsup';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedRunner, startRunner } from '../../dev-runner/test/runner.js';

// The console in a real browser (Debian's chromium, driven by playwright-core), over the services as
// `pnpm start` runs them, on free ports. Screenshots of the three views go to test-results/dev-console.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const screenshots = join(root, 'test-results/dev-console');
const run = promisify(execFile);

const executablePath = findChromium();
if (executablePath === undefined) {
  process.stdout.write(
    'dev console browser test skipped: no chromium on PATH (apt-get install chromium, or set CHROMIUM)\n',
  );
}

describe.skipIf(executablePath === undefined)('the dev console in a browser', () => {
  let runner: StartedRunner;
  let browser: Browser;
  let page: Page;
  let consoleUrl = '';
  let tacoclientUrl = '';

  beforeAll(async () => {
    await build({ config: join(root, 'tools/dev-runner/tsup.config.ts'), silent: true });
    await mkdir(screenshots, { recursive: true });
    runner = startRunner(join(root, 'tools/dev-runner/dist/cli.js'), ['--free-ports'], { cwd: fixtureProject });
    [, consoleUrl = ''] = await runner.waitFor(/^dev-runner: dev console on (http:\/\/localhost:\d+) /);
    [, tacoclientUrl = ''] = await runner.waitFor(/^dev-runner: tacoclient on (http:\/\/localhost:\d+)$/);
    // Both listening before the page asks for their health: a service that failed to start is said here, with its lines.
    await runner.waitFor(/^tacoclient \| .*listening/);
    await runner.waitFor(/^tacoserver \| .*listening/);
    // Headless; without the sandbox, which needs privileges a CI container (root, no user namespaces) lacks.
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (runner !== undefined) {
      expect(await runner.interrupt()).toEqual([0, null]);
      await runner.kill();
    }
  });

  /** Waits for a service's row to say healthy; if it does not, says what the console and the runner last knew. */
  async function shownHealthy(service: string): Promise<void> {
    await page
      .locator(`tr[data-service="${service}"] .health.healthy`)
      .waitFor()
      .catch(async (error: unknown) => {
        const overview = await (await request(`${consoleUrl}/api/overview`)).body.text();
        throw new Error(`${service} is not shown healthy; the console has ${overview}\n${runner.output.join('\n')}`, {
          cause: error,
        });
      });
  }

  it('shows both services healthy, and who calls whom', async () => {
    await page.goto(`${consoleUrl}/#/services`);
    await shownHealthy('tacoclient');
    await shownHealthy('tacoserver');
    expect(await page.locator('tr[data-service="tacoclient"] td').nth(4).textContent()).toBe('tacoserver');
    expect(await page.locator('.graph .node.healthy').count()).toBe(2);
    await page.screenshot({ path: join(screenshots, 'services.png') });
  });

  it('sends EatTaco from the explorer, then an empty name, and shows the error beside the field', async () => {
    await page.goto(`${consoleUrl}/#/explorer`);
    // Prefilled from the definitions' examples.
    await expect(page.locator('input[name="name"]').inputValue()).resolves.toBe('Sammy Sosa');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.result.ok .response', { hasText: 'Sammy Sosa has consumed 2 tacos' }).waitFor();
    expect(await page.locator('.result .badge').textContent()).toBe('200');

    // The hint comes as the field is emptied, and does not stop the send: the service's answer is the verdict.
    await page.locator('input[name="name"]').fill('');
    await page.locator('.field[data-field="name"] .hint', { hasText: 'name must not be empty' }).waitFor();
    await page.getByRole('button', { name: 'Send' }).click();
    await page
      .locator('.field[data-field="name"] .field-error', { hasText: 'EatTacoRequest.Name is required' })
      .waitFor();
    expect(await page.locator('.result .badge').textContent()).toBe('400');
    expect(await page.locator('.result .code').textContent()).toBe('invalid_argument');
    await page.screenshot({ path: join(screenshots, 'explorer.png'), fullPage: true });
  });

  it("will not show inside another site's frame, where one click would send a call", async () => {
    const site = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<iframe src="${consoleUrl}/#/explorer" width="800" height="600"></iframe>`);
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    const framing = await browser.newPage();
    try {
      await framing.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`, { waitUntil: 'load' });
      const frame = () => framing.frames().find((candidate) => candidate !== framing.mainFrame());
      // Chromium puts its error page in a frame it refused to fill; the console's own page never loads there.
      // The outer page's load event can come before the refused frame has committed that page, so wait for it.
      await expect.poll(() => frame()?.url(), { timeout: 10_000 }).toBe('chrome-error://chromewebdata/');
      expect(await frame()?.getByRole('button', { name: 'Send' }).count()).toBe(0);
    } finally {
      await framing.close();
      site.close();
    }
  });

  it("shows a curl's trace live, with its spans across both services and their log lines", async () => {
    await page.goto(`${consoleUrl}/#/traces`);
    // As the README's check does it.
    const { stdout } = await run('curl', ['-s', tacoclientUrl]);
    expect(stdout).toBe('Sammy Sosa has consumed 2 tacos');
    // Arrives over the event stream, without a reload: tacoclient's GET / at the top, with all three spans.
    const item = page.locator('.trace-list li', { hasText: 'tacoclient GET /' }).filter({ hasText: '3 spans' }).first();
    await item.waitFor();
    await item.locator('a').click();
    const detail = page.locator('.trace-detail');
    await detail.locator('.span-row', { hasText: 'tacoserver' }).filter({ hasText: 'TacoService.EatTaco' }).waitFor();
    await detail.locator('.logs .log', { hasText: 'tacoserver' }).first().waitFor();
    expect(await detail.locator('.span-row').allTextContents()).toEqual([
      expect.stringMatching(/^tacoclient GET \/server.* 200$/),
      expect.stringMatching(/^tacoclient TacoService\.EatTacoclient.* 200 ok$/),
      expect.stringMatching(/^tacoserver TacoService\.EatTacoserver.* 200 ok$/),
    ]);
    const services = await detail.locator('.logs .log .service').allTextContents();
    expect(new Set(services)).toEqual(new Set(['tacoclient', 'tacoserver']));
    await page.screenshot({ path: join(screenshots, 'traces.png'), fullPage: true });
  });
});
