import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type MetadataServer, startMetadataServer } from '@taco-run/cloud-emulator';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import { fixtureBundle } from '@taco-run/project/testing';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Case 6: where tokens may go and where they may never show up.

const root = fileURLToPath(new URL('../../', import.meta.url));
const runsd = `${root}tools/runsd/dist/runsd.js`;
let metadata: MetadataServer;
let thirdParty: FastifyInstance;
let thirdPartyOrigin: string;
const seen: { authorization?: string; serverless?: string }[] = [];

beforeAll(async () => {
  metadata = await startMetadataServer();
  thirdParty = Fastify();
  thirdParty.all('/*', async (req) => {
    seen.push({
      authorization: req.headers.authorization,
      serverless: req.headers['x-serverless-authorization'] as string | undefined,
    });
    return 'third party';
  });
  thirdPartyOrigin = await listenOnLoopback(thirdParty);
});

afterAll(() => Promise.all([metadata.close(), thirdParty.close()]));

const cloudEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  K_SERVICE: 'tacoclient',
  GCE_METADATA_HOST: metadata.host,
  CLOUD_RUN_PROJECT_HASH: 'safehash',
  ...extra,
});

/** Loopback listeners on a port, from /proc/net/tcp(6): local addresses in state 0A (LISTEN). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const rows = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8').trim().split('\n').slice(1),
  );
  return rows.flatMap((row) => {
    const [, local = '', , state] = row.trim().split(/\s+/);
    const [address = '', localPort] = local.split(':');
    return state === '0A' && localPort === hexPort ? [address] : [];
  });
}

describe('token safety', () => {
  it('binds the proxy to 127.0.0.1 only', async () => {
    const port = await freePort();
    const wrapper = await startService(`${root}bench/src/idle.mjs`, cloudEnv({ RUNSD_PROXY_PORT: String(port) }), {
      wrapper: [runsd, '--'],
    });
    try {
      expect(listeners(port)).toEqual(['0100007F']);
    } finally {
      expect(await wrapper.stop()).toBe(0);
    }
  });

  it('sends no token to hosts that are not services, through the preload or through the proxy', async () => {
    seen.length = 0;
    const script = `const r = await fetch(${JSON.stringify(`${thirdPartyOrigin}/via-preload`)}); process.stdout.write(await r.text());`;
    const preload = await promisify(execFile)(
      process.execPath,
      [runsd, '--', process.execPath, '--input-type=module', '-e', script],
      { env: cloudEnv() },
    );
    expect(preload.stdout).toBe('third party');
    const proxy = await promisify(execFile)(
      process.execPath,
      [runsd, '--', 'sh', '-c', `curl -s --noproxy '' -x "$HTTP_PROXY" ${thirdPartyOrigin}/via-proxy`],
      { env: cloudEnv() },
    );
    expect(proxy.stdout).toBe('third party');
    expect(seen).toEqual([
      { authorization: undefined, serverless: undefined },
      { authorization: undefined, serverless: undefined },
    ]);
    expect(metadata.identityRequests.size).toBe(0);
  });

  it('refuses CONNECT: it would tunnel anything, unseen', async () => {
    const result = await promisify(execFile)(
      process.execPath,
      [
        runsd,
        '--',
        'sh',
        '-c',
        `curl -s -o /dev/null -w '%{http_connect}' -p --noproxy '' -x "$HTTP_PROXY" ${thirdPartyOrigin}/`,
      ],
      { env: cloudEnv() },
    ).catch((error: { stdout: string }) => error);
    expect(result.stdout).toBe('405');
  });

  describe('with every log at debug level', () => {
    let tacoserver: ServiceProcess;
    let tacoclient: ServiceProcess;

    beforeAll(async () => {
      tacoserver = await startService(fixtureBundle('tacoserver'), { LOG_LEVEL: 'debug' }, { wrapper: [runsd, '--'] });
      tacoclient = await startService(
        fixtureBundle('tacoclient'),
        { ...cloudEnv({ RUNSD_TARGET_OVERRIDE: tacoserver.origin }), LOG_LEVEL: 'debug' },
        { wrapper: [runsd, '--'] },
      );
    });

    afterAll(async () => {
      await tacoclient.stop();
      await tacoserver.stop();
    });

    it("never prints a token's signature, whatever the outcome of the call", async () => {
      const ok = await request(tacoclient.origin);
      expect(await ok.body.text()).toBe('Sammy Sosa has consumed 2 tacos');
      const rejected = await request(`${tacoclient.origin}/?name=`);
      expect(rejected.statusCode).toBe(400);
      await rejected.body.dump();
      const output = [...tacoclient.lines, ...tacoclient.stderr, ...tacoserver.lines, ...tacoserver.stderr].join('\n');
      expect(metadata.issued.length).toBeGreaterThan(0);
      for (const token of metadata.issued) expect(output).not.toContain(token.split('.')[2]);
      // tacoserver did receive the token, so the check above is not vacuous.
      expect(output).toContain('"requestUrl":"/oto/TacoService.EatTaco"');
    });
  });
});
